import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';
import { createUser } from '../../test/auth-helpers';
import { createApiLogger } from './api-logger';

// Issue 10 item 24, end to end: requests carrying every kind of credential, through the real app
// logging at trace level; the log must show the requests and none of the credentials.
describe('request logging', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let output = '';

  beforeAll(async () => {
    database = await createTestDatabase();
    const logger = createApiLogger('trace', {
      destination: { write: (chunk: string) => void (output += chunk) },
    });
    app = await startTestApp({ DATABASE_URL: database.url }, { logger });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('logs requests without their passwords, tokens, keys, cookies or codes', async () => {
    const user = await createUser(app, 'admin');
    const json = { 'content-type': 'application/json' };
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      headers: json,
      payload: { username: user.username, password: user.password },
    });
    expect(login.statusCode).toBe(200);
    const { accessToken, refreshToken } = login.json<{ accessToken: string; refreshToken: string }>();
    const sent: string[] = [user.password, accessToken, refreshToken];

    const refreshed = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      headers: json,
      payload: { refreshToken },
    });
    sent.push(refreshed.json<{ refreshToken: string }>().refreshToken);
    await app.inject({
      method: 'GET',
      url: '/api/v1/users',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    const apiKey = 'sbk_abcdefghijkl_never-issued-api-key-secret';
    const cookie = 'sb_session=never-issued-session-secret; sb_csrf=never-issued-csrf-secret';
    const mfaToken = 'never-issued-mfa-token-secret';
    const recoveryCode = 'qwert-yuiop';
    sent.push(apiKey, 'never-issued-session-secret', 'never-issued-csrf-secret', mfaToken, recoveryCode);
    await app.inject({ method: 'GET', url: '/api/v1/users', headers: { 'x-api-key': apiKey } });
    await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } });
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/token/totp',
      headers: json,
      payload: { mfaToken, recoveryCode },
    });
    const newPassword = 'never-stored-new-password-secret';
    sent.push(newPassword);
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: { ...json, authorization: `Bearer ${accessToken}` },
      payload: { currentPassword: user.password, newPassword },
    });

    expect(output).toContain('/api/v1/auth/token');
    for (const secret of sent) expect({ leaked: output.includes(secret) }).toEqual({ leaked: false });
  });
});
