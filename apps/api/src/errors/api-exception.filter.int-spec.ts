import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';

// Routes added straight to Fastify: their errors (body parsing, limits, throws) reach the same error
// handler Nest installs for its own controllers, which is the path under test.
describe('error responses', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url });
    const fastify = app.getHttpAdapter().getInstance();
    fastify.post('/test/echo', (request) => ({ received: request.body }));
    fastify.get('/test/boom', () => {
      throw new Error('connect ECONNREFUSED 10.1.2.3:5432 at /srv/secret/path.ts');
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const json = { 'content-type': 'application/json' };

  it('accepts a valid body (the test route works)', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: json,
      payload: '{"a":1}',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ received: { a: 1 } });
  });

  it('answers malformed JSON with 400 and the JSON error shape, echoing the request id', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { ...json, 'x-request-id': 'req-bad-json' },
      payload: '{"password": "hunter2", oops',
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringMatching(/not valid JSON/),
      requestId: 'req-bad-json',
    });
    expect(response.body).not.toContain('hunter2');
    expect(response.body).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it('generates a request id when none is given and returns it in the header too', async () => {
    const response = await app.inject({ method: 'POST', url: '/test/echo', headers: json, payload: '{' });
    const body = response.json();
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers['x-request-id']).toBe(body.requestId);
  });

  it('refuses a body over the 1 MiB limit with 413', async () => {
    const payload = JSON.stringify({ blob: 'x'.repeat(1024 * 1024) });
    const response = await app.inject({ method: 'POST', url: '/test/echo', headers: json, payload });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: expect.any(String),
      requestId: expect.any(String),
    });
  });

  it('turns an unexpected error into a generic 500 without its message or stack', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/test/boom',
      headers: { 'x-request-id': 'r-500' },
    });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      requestId: 'r-500',
    });
    expect(response.body).not.toContain('ECONNREFUSED');
    expect(response.body).not.toContain('secret');
  });

  it('answers an unknown route with 404 in the same shape', async () => {
    const response = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'r-404' } });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'Cannot GET /nope',
      requestId: 'r-404',
    });
  });
});
