import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { signInAs, startTestApp } from '../../test/api-test-harness';
import { ProbeModule } from '../../test/probe.module';

// Refusals through routes shaped like real ones (test/probe.module.ts): the real guard, validation
// pipe, body parser and exception filter, each answer in the one error shape.
describe('HTTP refusals', () => {
  const BODY_LIMIT = 2048;
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let admin: string;
  let viewer: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp(
      {
        DATABASE_URL: database.url,
        REDIS_KEY_PREFIX: 'test-http-hygiene',
        API_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      },
      { extraModules: [ProbeModule] },
    );
    admin = (await signInAs(app, 'admin')).authorization;
    viewer = (await signInAs(app, 'viewer')).authorization;
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const post = (payload: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/probe/items',
      headers: { 'content-type': 'application/json', ...headers },
      payload,
    });

  function expectErrorShape(body: unknown, statusCode: number, error: string): void {
    expect(body).toEqual({
      statusCode,
      error,
      message: expect.anything(),
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  }

  it('accepts a valid request from a user with the permission', async () => {
    const response = await post('{"name":"lamp","count":3}', { authorization: admin });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ name: 'lamp', count: 3 });
  });

  it('answers 401 without a credential, before looking at the body', async () => {
    const response = await post('{"name":5}');
    expect(response.statusCode).toBe(401);
    expectErrorShape(response.json(), 401, 'Unauthorized');
    expect(response.json().message).toBe('Authentication required');
  });

  it('answers 401 for a bearer token that is not valid', async () => {
    for (const authorization of ['Bearer not.a.jwt', 'Basic dXNlcjpwYXNz', `${admin}x`]) {
      const response = await post('{"name":"lamp","count":3}', { authorization });
      expect(response.statusCode).toBe(401);
      expectErrorShape(response.json(), 401, 'Unauthorized');
    }
  });

  it('answers 403 to an authenticated user without the permission', async () => {
    const response = await post('{"name":"lamp","count":3}', { authorization: viewer });
    expect(response.statusCode).toBe(403);
    expectErrorShape(response.json(), 403, 'Forbidden');
    expect(response.json().message).toBe('Missing permission device.manage');
    // ...while the same user may use a route their role allows.
    const allowed = await app.inject({
      method: 'GET',
      url: '/api/v1/probe/items/known',
      headers: { authorization: viewer },
    });
    expect(allowed.statusCode).toBe(200);
  });

  it('lists every bad field in a 400: wrong types, oversized values, unknown keys', async () => {
    const response = await post(
      JSON.stringify({ name: 'x'.repeat(65), count: 'three', tags: ['a', 7], admin: true }),
      { authorization: admin },
    );
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expectErrorShape(body, 400, 'Bad Request');
    expect(body.message).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^name: /),
        expect.stringMatching(/^count: /),
        expect.stringMatching(/^tags\.1: /),
        expect.stringMatching(/admin/),
      ]),
    );
    expect(body.message).toHaveLength(4);
  });

  it('answers 400 for a missing body, an array body and a bad path parameter', async () => {
    const empty = await app.inject({
      method: 'POST',
      url: '/api/v1/probe/items',
      headers: { authorization: admin },
    });
    expect(empty.statusCode).toBe(400);
    expectErrorShape(empty.json(), 400, 'Bad Request');
    const array = await post('[1,2]', { authorization: admin });
    expect(array.statusCode).toBe(400);
    const badId = await app.inject({
      method: 'GET',
      url: '/api/v1/probe/items/not-an-id!',
      headers: { authorization: admin },
    });
    expect(badId.statusCode).toBe(400);
    expect(badId.json().message).toEqual([expect.stringMatching(/^id: /)]);
  });

  it('answers malformed JSON with 400 without echoing it', async () => {
    const response = await post('{"name": "secret-value", ', { authorization: admin });
    expect(response.statusCode).toBe(400);
    expectErrorShape(response.json(), 400, 'Bad Request');
    expect(response.body).not.toContain('secret-value');
  });

  it('refuses __proto__ in a body', async () => {
    const response = await post('{"name":"a","count":1,"__proto__":{"admin":true}}', {
      authorization: admin,
    });
    expect(response.statusCode).toBe(400);
    expectErrorShape(response.json(), 400, 'Bad Request');
  });

  it('answers a body over API_BODY_LIMIT_BYTES with 413', async () => {
    const payload = JSON.stringify({ name: 'a', count: 1, tags: ['x'.repeat(BODY_LIMIT)] });
    const response = await post(payload, { authorization: admin });
    expect(response.statusCode).toBe(413);
    expectErrorShape(response.json(), 413, 'Payload Too Large');
  });

  it.each([
    ['text/plain', 'name=lamp'],
    ['application/x-www-form-urlencoded', 'name=lamp&count=3'],
    [
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nlamp\r\n--x--',
    ],
    ['application/xml', '<item/>'],
  ])('answers a %s body with 415', async (contentType, payload) => {
    const response = await post(payload, { authorization: admin, 'content-type': contentType });
    expect(response.statusCode).toBe(415);
    expectErrorShape(response.json(), 415, 'Unsupported Media Type');
  });

  it('accepts JSON with a charset parameter', async () => {
    const response = await post('{"name":"lamp","count":1}', {
      authorization: admin,
      'content-type': 'application/json; charset=utf-8',
    });
    expect(response.statusCode).toBe(201);
  });

  it('answers 404 for an unknown id and for an unknown route, in the same shape', async () => {
    const unknownId = await app.inject({
      method: 'GET',
      url: '/api/v1/probe/items/missing',
      headers: { authorization: admin },
    });
    expect(unknownId.statusCode).toBe(404);
    expectErrorShape(unknownId.json(), 404, 'Not Found');
    expect(unknownId.json().message).toBe('No item missing');
    const unknownRoute = await app.inject({ method: 'DELETE', url: '/api/v1/nothing-here' });
    expect(unknownRoute.statusCode).toBe(404);
    expectErrorShape(unknownRoute.json(), 404, 'Not Found');
  });

  it('answers 409 in the same shape', async () => {
    const response = await post('{"name":"taken","count":1}', { authorization: admin });
    expect(response.statusCode).toBe(409);
    expectErrorShape(response.json(), 409, 'Conflict');
  });

  it('turns an error thrown in the guard (a route without access declaration) into a bare 500', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/v1/probe/undeclared' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      requestId: expect.any(String),
    });
    expect(response.body).not.toContain('ProbeController');
  });

  it('answers router-level errors (bad %-encoding, over-long parameter) in the same shape', async () => {
    const badEncoding = await app.inject({ method: 'GET', url: '/api/v1/probe/items/%zz' });
    expect(badEncoding.statusCode).toBe(400);
    expectErrorShape(badEncoding.json(), 400, 'Bad Request');
    expect(badEncoding.headers['x-request-id']).toBe(badEncoding.json().requestId);
    const longParameter = await app.inject({ method: 'GET', url: `/api/v1/probe/items/${'a'.repeat(200)}` });
    expect(longParameter.statusCode).toBe(414);
    expectErrorShape(longParameter.json(), 414, 'URI Too Long');
  });
});
