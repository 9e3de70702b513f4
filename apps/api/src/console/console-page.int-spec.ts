import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';
import { CONTENT_SECURITY_POLICY } from '../http/security-headers';

const EXPECTED_CSP = Object.entries(CONTENT_SECURITY_POLICY)
  .map(([name, values]) => `${name} ${values.join(' ')}`)
  .join(';');
const INDEX_HTML =
  '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';

describe('the console’s page and assets', () => {
  let database: TestDatabase;
  let consoleDir: string;
  let app: NestFastifyApplication;
  let unbuilt: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    consoleDir = await mkdtemp(join(tmpdir(), 'console-'));
    await mkdir(join(consoleDir, 'assets'));
    await writeFile(join(consoleDir, 'index.html'), INDEX_HTML);
    await writeFile(join(consoleDir, 'assets', 'index-abc123.js'), 'console.log(1);');
    await writeFile(join(consoleDir, 'secret.txt'), 'not an asset');
    app = await startTestApp({ DATABASE_URL: database.url, CONSOLE_DIR: consoleDir });
    unbuilt = await startTestApp({
      DATABASE_URL: database.url,
      CONSOLE_DIR: join(consoleDir, 'missing'),
      API_DOCS_ENABLED: 'true',
    });
  });

  afterAll(async () => {
    await app?.close();
    await unbuilt?.close();
    await database?.drop();
    await rm(consoleDir, { recursive: true, force: true });
  });

  it.each(['/', '/devices', '/devices/123456789', '/sign-in', '/account', '/audit/anything'])(
    'answers %s with the console’s index.html under the strict CSP',
    async (url) => {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['content-security-policy']).toBe(EXPECTED_CSP);
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.body).toBe(INDEX_HTML);
    },
  );

  it('keeps JSON 404s for paths that are not the console’s', async () => {
    for (const url of [
      '/nonsense',
      '/api',
      '/api/v1/nonsense',
      '/secret.txt',
      '/index.html/x',
      '/devices/1/2',
    ]) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
    }
  });

  it('serves hashed assets as immutable, and nothing outside assets/', async () => {
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toMatch(/immutable/);
    expect(asset.headers['content-security-policy']).toBe(EXPECTED_CSP);
    for (const url of [
      '/assets/missing.js',
      '/assets/../secret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/',
    ]) {
      const response = await app.inject({ method: 'GET', url });
      // @fastify/static answers a path that climbs out of its root 403, anything else missing 404.
      expect([403, 404]).toContain(response.statusCode);
      expect(response.body).not.toContain('not an asset');
    }
  });

  it('without a built console, / says where the APIs are and how to build it, with no script or style', async () => {
    const response = await unbuilt.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-security-policy']).toBe(EXPECTED_CSP);
    expect(response.body).toContain('/api/v1');
    expect(response.body).toContain('href="/api/docs"');
    expect(response.body).toContain('npm run build');
    expect(response.body).not.toMatch(/<script|<style|style=/i);
    const asset = await unbuilt.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(404);
  });
});
