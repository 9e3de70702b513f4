import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { signInAs, startTestApp } from '../../test/api-test-harness';

// Issue 10 item 17: text Postgres cannot store (a NUL, half a surrogate pair) and an audit cursor
// beyond the columns' range are a 400 at the validation layer, never a 500 from the database. Over
// a real socket, so the bytes on the wire are what a client sends.
describe('text and cursor validation over HTTP', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let base: string;
  let authorization: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    base = `http://127.0.0.1:${address.port}`;
    authorization = (await signInAs(app, 'admin')).authorization;
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      // JSON.stringify escapes NUL and lone surrogates (\u0000, \ud800): valid JSON, as a client sends it.
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  const asAdmin = () => ({ authorization });

  it.each([
    ['console login', '/api/v1/auth/login', { origin: 'http://localhost' }],
    ['token login', '/api/v1/auth/token', {}],
  ])('refuses a NUL in the %s username with 400, unauthenticated', async (_label, path, headers) => {
    const response = await send('POST', path, { username: 'ad\u0000min', password: 'whatever' }, headers);
    expect(response.status).toBe(400);
    expect(response.body['message']).toEqual(['username: must not contain NUL bytes or unpaired surrogates']);
  });

  it('refuses a lone surrogate in the login username with 400', async () => {
    const response = await send('POST', '/api/v1/auth/token', { username: 'ad\ud800min', password: 'x' });
    expect(response.status).toBe(400);
  });

  it.each([
    ['/api/v1/devices?q=%00', 'q'],
    ['/api/v1/users?search=a%00b', 'search'],
    ['/api/v1/audit?actor=%00', 'actor'],
    ['/api/v1/audit?targetId=x%00', 'targetId'],
  ])('refuses a NUL in the filter %s with 400', async (path, field) => {
    const response = await send('GET', path, undefined, asAdmin());
    expect(response.status).toBe(400);
    expect(response.body['message']).toEqual([`${field}: must not contain NUL bytes or unpaired surrogates`]);
  });

  it('answers a filter whose UTF-8 encodes a lone surrogate like any other text (decoded as U+FFFD)', async () => {
    // %ED%A0%80 is \ud800 in CESU-8; no URL can carry a lone surrogate itself, decoding replaces it.
    expect((await send('GET', '/api/v1/devices?q=%ED%A0%80', undefined, asAdmin())).status).toBe(200);
    expect((await send('GET', `/api/v1/devices?q=${'\ud800'}`, undefined, asAdmin())).status).toBe(200);
  });

  it.each([
    [
      'a user note',
      'POST',
      '/api/v1/users',
      { username: 'surrogate', role: 'viewer', note: 'a\ud800b' },
      'note',
    ],
    ['an API key name', 'POST', '/api/v1/api-keys', { name: 'low \udc00 half' }, 'name'],
    [
      'a nested setting key',
      'PUT',
      '/api/v1/settings/x',
      { value: { a: { 'b\u0000': 1 } } },
      'value.a.(a key)',
    ],
    ['a device tag list', 'PATCH', '/api/v1/devices/123456789', { tags: ['ok', 'x\ud83d'] }, 'tags.1'],
  ])(
    'refuses %s with a NUL or lone surrogate (400), storing nothing',
    async (_label, method, path, body, field) => {
      const response = await send(method, path, body, asAdmin());
      expect(response.status).toBe(400);
      expect(response.body['message']).toEqual([
        `${field}: must not contain NUL bytes or unpaired surrogates`,
      ]);
    },
  );

  it('keeps well-formed text, surrogate pairs included', async () => {
    const response = await send('POST', '/api/v1/api-keys', { name: 'rocket \ud83d\ude80 key' }, asAdmin());
    expect(response.status).toBe(201);
    expect((response.body['apiKey'] as { name: string }).name).toBe('rocket 🚀 key');
  });

  it('answers the RustDesk client API in its {error} shape', async () => {
    const response = await send(
      'POST',
      '/api/devices/deploy',
      { id: '123456789', uuid: 'AAAA', pk: 'AAAA', extra: '\u0000' },
      { authorization: 'Bearer sbr_000000000000_x' },
    );
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      result: 'INVALID_INPUT',
      error: 'extra: must not contain NUL bytes or unpaired surrogates',
    });
  });

  it.each([
    ['a seq beyond bigint', '1700000000000.9223372036854775808'],
    ['a seq of 19 nines', '1.9999999999999999999'],
    ['a time before 1970', '-999999999999999.5'],
  ])('refuses an audit cursor with %s (400)', async (_label, cursor) => {
    const response = await send('GET', `/api/v1/audit?cursor=${cursor}`, undefined, asAdmin());
    expect(response.status).toBe(400);
    expect(response.body['message']).toEqual(['cursor: invalid cursor']);
  });

  it('still accepts the largest cursor the columns hold', async () => {
    const response = await send(
      'GET',
      '/api/v1/audit?cursor=1700000000000.9223372036854775807',
      undefined,
      asAdmin(),
    );
    expect(response.status).toBe(200);
  });
});
