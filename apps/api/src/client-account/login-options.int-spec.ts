import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';

// What the stock client asks before its login form, and its OIDC calls, on a real app with no
// identity provider (docs/client-api.md §2): requests shaped as the client sends them.
describe('client sign-in options', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('offers no OIDC buttons: an empty JSON array, without authentication', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/api/login-options',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual([]);
  });

  it('answers the TLS probe (HEAD) with a status', async () => {
    const response = await app.inject({ method: 'HEAD', url: '/api/login-options' });
    expect(response.statusCode).toBe(200);
  });

  it('refuses an OIDC sign-in with {error}, and stops the poll at once', async () => {
    const start = await app.inject({
      method: 'POST',
      url: '/api/oidc/auth',
      headers: { 'content-type': 'application/json' },
      payload: {
        op: 'github',
        id: '123456789',
        uuid: 'dXVpZA==',
        deviceInfo: { os: 'linux', type: 'client', name: 'host' },
        apiDomain: 'http://127.0.0.1:21114',
      },
    });
    expect(start.statusCode).toBe(400);
    expect(start.json()).toEqual({ error: expect.stringContaining('No OIDC provider') });

    // Polled with no Content-Type; "No authed oidc is found" would keep the client polling for 180 s.
    const poll = await app.inject({
      method: 'GET',
      url: '/api/oidc/auth-query?code=x&id=123456789&uuid=dXVpZA%3D%3D',
    });
    expect(poll.statusCode).toBe(400);
    const body = poll.json<{ error: string }>();
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).not.toContain('No authed oidc is found');
  });
});
