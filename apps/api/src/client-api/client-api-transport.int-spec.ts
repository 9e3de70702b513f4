import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';

const JSON_TYPE = { 'content-type': 'application/json' };

// The RustDesk client's transport rules (docs/client-api.md §1, and §0 traps 3 and 4) on a real app, beside the
// operator API's unchanged ones.
describe('client API transport', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url, API_DOCS_ENABLED: 'true' });
    const fastify = app.getHttpAdapter().getInstance();
    fastify.post('/api/test/echo', (request) => ({ received: request.body }));
    fastify.post('/api/v1/test/echo', (request) => ({ received: request.body }));
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('accepts an empty JSON body on a client path: deploy answers itself, not "Bad Request"', async () => {
    const echo = await app.inject({ method: 'POST', url: '/api/test/echo', headers: JSON_TYPE });
    expect(echo.statusCode).toBe(200);
    expect(echo.json()).toEqual({ received: {} });

    const deploy = await app.inject({
      method: 'POST',
      url: '/api/devices/deploy',
      headers: { ...JSON_TYPE, 'content-length': '0', authorization: 'Bearer nope' },
    });
    const body = deploy.json<Record<string, unknown>>();
    expect(body).toHaveProperty('error');
    expect(body).not.toHaveProperty('statusCode');
    expect(body.error).not.toBe('Bad Request');
    expect(body.error).not.toMatch(/empty/i);
  });

  it('keeps a u64 session_id exactly', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: JSON_TYPE,
      payload: '{"session_id":18446744073709551615,"conn_id":3}',
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('{"received":{"session_id":"18446744073709551615","conn_id":3}}');
  });

  it('reads a POST without Content-Type as JSON on client paths only', async () => {
    const client = await app.inject({ method: 'POST', url: '/api/test/echo', payload: '{"a":1}' });
    expect(client.json()).toEqual({ received: { a: 1 } });
    const bare = await app.inject({ method: 'POST', url: '/api/test/echo' });
    expect(bare.json()).toEqual({ received: {} });
    const operator = await app.inject({ method: 'POST', url: '/api/v1/test/echo', payload: '{"a":1}' });
    expect(operator.statusCode).toBe(415);
    const typed = await app.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { 'content-type': 'text/plain' },
      payload: '{"a":1}',
    });
    expect(typed.statusCode).toBe(415);
    expect(Object.keys(typed.json<object>())).toEqual(['error']);
  });

  it.each([
    ['malformed JSON', { url: '/api/test/echo', headers: JSON_TYPE, payload: '{' }, 400],
    [
      'an oversize body',
      { url: '/api/test/echo', headers: JSON_TYPE, payload: `"${'x'.repeat(1024 * 1024)}"` },
      413,
    ],
    ['an unknown client path', { url: '/api/foo', headers: JSON_TYPE, payload: '{}' }, 404],
    ['a URL the router refuses', { url: '/api/foo/%E0%A4%A', headers: JSON_TYPE, payload: '{}' }, 400],
  ] as const)('answers %s with {error} only', async (_name, request, status) => {
    const response = await app.inject({ method: 'POST', ...request });
    expect(response.statusCode).toBe(status);
    const body = response.json<Record<string, unknown>>();
    expect(Object.keys(body)).toEqual(['error']);
    expect(typeof body.error).toBe('string');
  });

  it('keeps the operator shape on /api/v1, where an empty JSON body is still refused', async () => {
    const unknown = await app.inject({ method: 'GET', url: '/api/v1/foo' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect(unknown.json()).toHaveProperty('requestId');

    const empty = await app.inject({ method: 'POST', url: '/api/v1/test/echo', headers: JSON_TYPE });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ statusCode: 400 });

    const big = await app.inject({
      method: 'POST',
      url: '/api/v1/test/echo',
      headers: JSON_TYPE,
      payload: '{"n":18446744073709551615}',
    });
    expect(big.json()).toEqual({ received: { n: 18446744073709552000 } });
  });
});
