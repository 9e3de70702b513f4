import { type AddressInfo } from 'node:net';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';

const EXPECTED: Record<string, string> = {
  'content-security-policy':
    "default-src 'self';base-uri 'self';connect-src 'self';font-src 'self';form-action 'self';" +
    "frame-ancestors 'none';img-src 'self' data:;object-src 'none';script-src 'self';" +
    "script-src-attr 'none';style-src 'self'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

function expectSecurityHeaders(headers: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(EXPECTED)) expect([name, headers[name]]).toEqual([name, value]);
  const permissions = String(headers['permissions-policy']);
  for (const feature of ['camera', 'microphone', 'geolocation', 'usb', 'payment', 'display-capture']) {
    expect(permissions).toContain(`${feature}=()`);
  }
  expect(headers['x-powered-by']).toBeUndefined();
}

describe('security headers', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: 'test-security-headers',
      API_DOCS_ENABLED: 'true',
    });
    const fastify = app.getHttpAdapter().getInstance();
    fastify.post('/test/echo', (request) => ({ received: request.body }));
    fastify.get('/test/boom', () => {
      throw new Error('boom');
    });
    fastify.get('/test/items/:id', (request) => request.params);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const json = { 'content-type': 'application/json' };
  it.each([
    ['a normal response', { method: 'GET', url: '/healthz' }, 200],
    ['the docs page', { method: 'GET', url: '/api/docs' }, 200],
    ['a 404', { method: 'GET', url: '/no/such/route' }, 404],
    ['a 400 (malformed JSON)', { method: 'POST', url: '/test/echo', headers: json, payload: '{' }, 400],
    [
      'a 413',
      { method: 'POST', url: '/test/echo', headers: json, payload: `"${'x'.repeat(1024 * 1024)}"` },
      413,
    ],
    [
      'a 415',
      { method: 'POST', url: '/test/echo', headers: { 'content-type': 'text/plain' }, payload: 'x' },
      415,
    ],
    ['a 500', { method: 'GET', url: '/test/boom' }, 500],
  ] as const)('are on %s', async (_name, request, status) => {
    const response = await app.inject(request);
    expect(response.statusCode).toBe(status);
    expectSecurityHeaders(response.headers);
  });

  it('are on the answers the router gives before any hook runs', async () => {
    const response = await app.inject({ method: 'GET', url: '/test/items/%zz' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response.headers['permissions-policy']).toContain('camera=()');
  });

  it('let static Swagger UI assets be cached, nothing else', async () => {
    const asset = await app.inject({ method: 'GET', url: '/api/docs/swagger-ui.css' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toMatch(/max-age=\d+/);
    expectSecurityHeaders({ ...asset.headers, 'cache-control': 'no-store' });
  });

  it('never send HSTS over plain http', async () => {
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.headers['strict-transport-security']).toBeUndefined();
  });
});

// HSTS depends on how the request arrived, so these use a real listening server and real proxy headers.
describe('HSTS behind a TLS-terminating proxy', () => {
  let database: TestDatabase;
  const apps: NestFastifyApplication[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await database?.drop();
  });

  async function listening(env: Record<string, string>): Promise<string> {
    const app = await startTestApp({ DATABASE_URL: database.url, REDIS_KEY_PREFIX: 'test-hsts', ...env });
    apps.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.getHttpServer().address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  it('is sent when a trusted proxy says the request came over https, on errors too', async () => {
    const base = await listening({ TRUST_PROXY: '127.0.0.1', HSTS_MAX_AGE_SECONDS: '86400' });
    for (const path of ['/healthz', '/nowhere']) {
      const response = await fetch(`${base}${path}`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(response.headers.get('strict-transport-security')).toBe('max-age=86400; includeSubDomains');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    }
    const plain = await fetch(`${base}/healthz`);
    expect(plain.headers.get('strict-transport-security')).toBeNull();
    const forwardedHttp = await fetch(`${base}/healthz`, { headers: { 'x-forwarded-proto': 'http' } });
    expect(forwardedHttp.headers.get('strict-transport-security')).toBeNull();
  });

  it('is not sent when X-Forwarded-Proto comes from an address that is not a trusted proxy', async () => {
    for (const env of [{}, { TRUST_PROXY: '10.9.8.7' }] as Record<string, string>[]) {
      const base = await listening(env);
      const response = await fetch(`${base}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('is not sent for an https PUBLIC_URL when the request itself came over plain http', async () => {
    const base = await listening({ PUBLIC_URL: 'https://switchboard.example.com' });
    const response = await fetch(`${base}/healthz`);
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });
});
