import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';
import { ProbeModule } from '../../test/probe.module';
import { servedRoutes } from '../http/served-routes';

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  description?: string;
  'x-switchboard-access'?: string;
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas?: Record<string, { properties?: object }> };
}

// Served by the app but deliberately not operations of the API: the docs themselves, and the web
// console's deep links and assets (apps/api/src/console; `/` itself is documented).
const NOT_API = /^\/api\/docs(\/|$)|^\/assets\/|^\/:section(\/|$)/;

function servedOperations(app: NestFastifyApplication): Set<string> {
  const routes = servedRoutes(app.getHttpAdapter().getInstance());
  const gets = new Set(routes.filter((route) => route.method === 'GET').map((route) => route.url));
  return new Set(
    routes
      .filter((route) => !NOT_API.test(route.url))
      // Fastify adds a HEAD for every GET on its own.
      .filter((route) => !(route.method === 'HEAD' && gets.has(route.url)))
      .map((route) => `${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`),
  );
}

function documentedOperations(document: Document): Set<string> {
  return new Set(
    Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    ),
  );
}

describe('OpenAPI document and Swagger UI', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let document: Document;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp(
      { DATABASE_URL: database.url, REDIS_KEY_PREFIX: 'test-api-docs', API_DOCS_ENABLED: 'true' },
      { extraModules: [ProbeModule] },
    );
    const response = await app.inject({ method: 'GET', url: '/api/docs/json' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    document = response.json();
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('is public when enabled and lists the routes, including the probes (metrics are on the ops port)', () => {
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/api/v1/probe/items', '/api/v1/probe/items/{id}']),
    );
    expect(Object.keys(document.paths)).not.toContain('/metrics');
  });

  it('matches the routes the app serves, both ways (the docs cannot drift)', () => {
    const served = servedOperations(app);
    const documented = documentedOperations(document);
    expect(served.size).toBeGreaterThan(5);
    expect([...documented].filter((operation) => !served.has(operation))).toEqual([]);
    expect([...served].filter((operation) => !documented.has(operation))).toEqual([]);
  });

  it('gives every operation a summary, a tag and its access', () => {
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect([where, operation.summary]).toEqual([where, expect.stringMatching(/\S/)]);
        expect([where, operation.tags]).toEqual([
          where,
          expect.arrayContaining([expect.stringMatching(/\S/)]),
        ]);
        // The probe's deliberately undeclared route shows up as such (and the guard refuses it).
        const access =
          where === 'GET /api/v1/probe/undeclared'
            ? /^undeclared$/
            : /^(public|self-service|client-login|permission:.+)$/;
        expect([where, operation['x-switchboard-access']]).toEqual([where, expect.stringMatching(access)]);
      }
    }
  });

  it('declares the three security schemes', () => {
    expect(document.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
      session: expect.objectContaining({ type: 'apiKey', in: 'cookie' }),
    });
  });

  it("states each operation's security from its access declaration", () => {
    const anyCredential = [{ bearer: [] }, { apiKey: [] }, { session: [] }];
    const create = document.paths['/api/v1/probe/items']?.['post'];
    expect(create?.security).toEqual(anyCredential);
    expect(create?.['x-switchboard-access']).toBe('permission:device.manage');
    expect(create?.description).toContain('`device.manage`');
    expect(document.paths['/api/v1/probe/me']?.['get']?.['x-switchboard-access']).toBe('self-service');
    expect(document.paths['/api/v1/probe/me']?.['get']?.security).toEqual(anyCredential);
    expect(document.paths['/api/v1/probe/open']?.['get']?.security).toEqual([]);
    expect(document.paths['/healthz']?.['get']?.security).toEqual([]);
  });

  it('describes zod request bodies with their fields', () => {
    const body = document.paths['/api/v1/probe/items']?.['post']?.requestBody;
    const ref = body?.content['application/json']?.schema.$ref ?? '';
    const schema = document.components.schemas?.[ref.replace('#/components/schemas/', '')];
    expect(Object.keys(schema?.properties ?? {})).toEqual(['name', 'count', 'tags']);
  });

  it('serves Swagger UI without inline script or style, so the strict CSP holds', async () => {
    const page = await app.inject({ method: 'GET', url: '/api/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("style-src 'self'");
    expect(page.body).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>|<style|style=|on\w+=/i);
    // Everything the page loads is served, from here.
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '');
    expect(assets).toHaveLength(6);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/api\/docs\//);
      const response = await app.inject({ method: 'GET', url: asset });
      expect([asset, response.statusCode]).toEqual([asset, 200]);
    }
    const init = await app.inject({ method: 'GET', url: '/api/docs/init.js' });
    expect(init.body).toContain("url: '/api/docs/json'");
    expect(init.body).toContain('validatorUrl: null');
  });

  it("serves only the Swagger UI files the page needs, not the package's demo pages", async () => {
    for (const url of [
      '/api/docs/index.html',
      '/api/docs/swagger-initializer.js',
      '/api/docs/oauth2-redirect.html',
      '/api/docs/package.json',
      '/api/docs/../../package.json',
    ]) {
      const response = await app.inject({ method: 'GET', url });
      expect([url, response.statusCode]).toEqual([url, 404]);
    }
  });

  it.each([
    ['by default', {}],
    ['when API_DOCS_ENABLED=false', { API_DOCS_ENABLED: 'false' }],
  ])('is absent %s', async (_label, env) => {
    const hidden = await startTestApp({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: 'test-api-docs-off',
      ...env,
    });
    try {
      for (const url of ['/api/docs', '/api/docs/json', '/api/docs/swagger-ui-bundle.js']) {
        const response = await hidden.inject({ method: 'GET', url });
        expect([url, response.statusCode]).toEqual([url, 404]);
      }
    } finally {
      await hidden.close();
    }
  });
});
