import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { RedisEventBus } from '@switchboard/events';
import { createLogger } from '@switchboard/observability';
import { waitFor } from '@switchboard/test-net';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp, TEST_EVENT_SIGNING_KEY } from '../../test/api-test-harness';
import { consoleHeaders, createUser, inject, signInBrowser, type TestUser } from '../../test/auth-helpers';
import { ManualClock } from '../../test/manual-clock';
import { AuditLog } from '../audit/audit-log';

// Refresh-token rotation and reuse detection, logout of a token family, the user's own sessions,
// and the password change that ends every other login.

interface Pair {
  accessToken: string;
  refreshToken: string;
}

describe('tokens, sessions and password change', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  const prefix = `test-account-${process.pid}-${Date.now()}`;
  const clock = new ManualClock(new Date('2033-09-01T08:00:00Z'));
  let ipCounter = 0;
  const freshIp = () => `10.70.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url, REDIS_KEY_PREFIX: prefix }, { clock });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const post = (url: string, payload?: object, headers: Record<string, string> = {}) =>
    inject(app, {
      method: 'POST',
      url,
      headers,
      ip: freshIp(),
      ...(payload === undefined ? {} : { payload }),
    });
  const tokensFor = async (user: TestUser): Promise<Pair> => {
    const response = await post('/api/v1/auth/token', { username: user.username, password: user.password });
    expect(response.statusCode).toBe(200);
    return response.json<Pair>();
  };
  const refresh = (refreshToken: string) => post('/api/v1/auth/refresh', { refreshToken });
  const meWith = (headers: Record<string, string>) =>
    inject(app, { method: 'GET', url: '/api/v1/auth/me', headers });
  const bearer = (pair: Pair) => ({ authorization: `Bearer ${pair.accessToken}` });
  const actionsOf = async (action: string, userId: string) =>
    (await app.get(AuditLog).repository.list({ action, actorId: userId, limit: 100 })).entries;

  describe('refresh tokens', () => {
    it('rotate: each refresh returns a new pair and the new refresh token works', async () => {
      const user = await createUser(app, 'operator');
      const first = await tokensFor(user);
      const second = await refresh(first.refreshToken);
      expect(second.statusCode).toBe(200);
      const pair = second.json<Pair & { tokenType: string; expiresIn: number }>();
      expect(pair).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
      expect(pair.refreshToken).not.toBe(first.refreshToken);
      expect((await meWith(bearer(pair))).statusCode).toBe(200);
      const third = await refresh(pair.refreshToken);
      expect(third.statusCode).toBe(200);
      expect(await actionsOf('auth.token_refreshed', user.user.id)).toHaveLength(2);
    });

    it('reuse of a rotated token revokes the whole family and is audited', async () => {
      const user = await createUser(app, 'operator');
      const first = await tokensFor(user);
      const second = (await refresh(first.refreshToken)).json<Pair>();
      const reused = await refresh(first.refreshToken);
      expect(reused.statusCode).toBe(401);
      // The thief's or the owner's newer token: whoever holds it, the family is over.
      expect((await refresh(second.refreshToken)).statusCode).toBe(401);
      const audit = await actionsOf('auth.refresh_reuse_detected', user.user.id);
      expect(audit).toHaveLength(1);
      // The rotated token and its successor.
      expect(audit[0]?.details).toMatchObject({ revokedTokens: 2 });
      // Other logins of the same user are not touched.
      const other = await tokensFor(user);
      expect((await refresh(other.refreshToken)).statusCode).toBe(200);
    });

    // Issue 10 item 18: access tokens used to outlive their family by up to 15 minutes.
    it('the family\u2019s access tokens die with it at once: on reuse detection and on logout', async () => {
      const user = await createUser(app, 'operator');
      const first = await tokensFor(user);
      const second = (await refresh(first.refreshToken)).json<Pair>();
      const other = await tokensFor(user);
      expect((await meWith(bearer(second))).statusCode).toBe(200);
      expect((await refresh(first.refreshToken)).statusCode).toBe(401);
      for (const pair of [first, second]) {
        const refused = await meWith(bearer(pair));
        expect(refused.statusCode).toBe(401);
        expect(refused.json().message).toBe('Token revoked');
      }
      expect((await meWith(bearer(other))).statusCode).toBe(200);

      const logout = await post('/api/v1/auth/logout', { refreshToken: other.refreshToken });
      expect(logout.statusCode).toBe(204);
      expect((await meWith(bearer(other))).statusCode).toBe(401);
    });

    it('expire after 30 days', async () => {
      const user = await createUser(app, 'operator');
      const pair = await tokensFor(user);
      clock.advanceSeconds(30 * 86_400 + 1);
      expect((await refresh(pair.refreshToken)).statusCode).toBe(401);
    });

    it('access tokens expire after 15 minutes', async () => {
      const user = await createUser(app, 'operator');
      const pair = await tokensFor(user);
      clock.advanceSeconds(15 * 60 - 1);
      expect((await meWith(bearer(pair))).statusCode).toBe(200);
      clock.advanceSeconds(2);
      expect((await meWith(bearer(pair))).statusCode).toBe(401);
    });

    it('refuse unknown tokens (401) and bad bodies (400)', async () => {
      expect((await refresh('A'.repeat(43))).statusCode).toBe(401);
      expect((await post('/api/v1/auth/refresh', {})).statusCode).toBe(400);
      expect((await post('/api/v1/auth/refresh', { refreshToken: 42 })).statusCode).toBe(400);
      expect((await post('/api/v1/auth/refresh', { refreshToken: 'x'.repeat(300) })).statusCode).toBe(400);
    });

    it('logout with a refresh token ends its family (and is audited); unknown tokens are 401', async () => {
      const user = await createUser(app, 'operator');
      const first = await tokensFor(user);
      const second = (await refresh(first.refreshToken)).json<Pair>();
      const logout = await post('/api/v1/auth/logout', { refreshToken: second.refreshToken });
      expect(logout.statusCode).toBe(204);
      expect((await refresh(second.refreshToken)).statusCode).toBe(401);
      expect(await actionsOf('auth.logout', user.user.id)).toHaveLength(1);
      expect((await post('/api/v1/auth/logout', { refreshToken: second.refreshToken })).statusCode).toBe(401);
      expect((await post('/api/v1/auth/logout', { refreshToken: 'B'.repeat(43) })).statusCode).toBe(401);
    });
  });

  describe('own sessions', () => {
    it('lists the caller\u2019s live sessions only, marking the current one', async () => {
      const user = await createUser(app, 'viewer');
      const other = await createUser(app, 'viewer');
      const a = await signInBrowser(app, user);
      await signInBrowser(app, user);
      await signInBrowser(app, other);
      const response = await meWith({ cookie: a.cookie });
      expect(response.statusCode).toBe(200);
      const list = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/sessions',
        headers: { cookie: a.cookie },
      });
      const { sessions } = list.json<{ sessions: Array<{ id: string; current: boolean; ip: string }> }>();
      expect(sessions).toHaveLength(2);
      expect(sessions.filter((session) => session.current)).toHaveLength(1);
      expect(sessions[0]).toEqual({
        id: expect.any(String),
        kind: 'browser',
        client: null,
        current: expect.any(Boolean),
        rememberMe: false,
        ip: '10.0.0.1',
        userAgent: 'lightMyRequest',
        createdAt: expect.any(String),
        lastSeenAt: expect.any(String),
        expiresAt: expect.any(String),
      });
    });

    it('DELETE ends one of the caller\u2019s own sessions; another user\u2019s is 404; bad ids are 400', async () => {
      const user = await createUser(app, 'viewer');
      const intruder = await createUser(app, 'admin');
      const keep = await signInBrowser(app, user);
      const drop = await signInBrowser(app, user);
      const theirs = await signInBrowser(app, intruder);
      const listOf = async (browser: { cookie: string }) =>
        (
          await inject(app, {
            method: 'GET',
            url: '/api/v1/auth/sessions',
            headers: { cookie: browser.cookie },
          })
        ).json<{
          sessions: Array<{ id: string; current: boolean }>;
        }>().sessions;
      const dropId = (await listOf(drop)).find((session) => session.current)?.id ?? '';

      const foreign = await inject(app, {
        method: 'DELETE',
        url: `/api/v1/auth/sessions/${dropId}`,
        headers: consoleHeaders(theirs),
      });
      expect(foreign.statusCode).toBe(404);
      expect((await meWith({ cookie: drop.cookie })).statusCode).toBe(200);

      const own = await inject(app, {
        method: 'DELETE',
        url: `/api/v1/auth/sessions/${dropId}`,
        headers: consoleHeaders(keep),
      });
      expect(own.statusCode).toBe(204);
      expect((await meWith({ cookie: drop.cookie })).statusCode).toBe(401);
      expect((await meWith({ cookie: keep.cookie })).statusCode).toBe(200);
      expect(await actionsOf('auth.session_revoked', user.user.id)).toHaveLength(1);
      const twice = await inject(app, {
        method: 'DELETE',
        url: `/api/v1/auth/sessions/${dropId}`,
        headers: consoleHeaders(keep),
      });
      expect(twice.statusCode).toBe(404);

      const malformed = await inject(app, {
        method: 'DELETE',
        url: '/api/v1/auth/sessions/not-a-uuid',
        headers: consoleHeaders(keep),
      });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json().message).toEqual(['id: must be a session id']);
      const anonymous = await inject(app, { method: 'DELETE', url: `/api/v1/auth/sessions/${dropId}` });
      expect(anonymous.statusCode).toBe(401);
    });
  });

  describe('password change', () => {
    const change = (headers: Record<string, string>, payload: object) =>
      post('/api/v1/auth/password', payload, headers);

    it('refuses a wrong current password (403, audited, on the ladder) and weak or identical new ones (400)', async () => {
      const user = await createUser(app, 'viewer');
      const browser = await signInBrowser(app, user);
      const wrong = await change(consoleHeaders(browser), {
        currentPassword: 'not it at all',
        newPassword: 'a brand new passphrase',
      });
      expect(wrong.statusCode).toBe(403);
      const failed = await actionsOf('auth.login_failed', user.user.id);
      expect(failed[0]?.details).toMatchObject({ reason: 'bad_password', context: 'password_change' });

      const short = await change(consoleHeaders(browser), {
        currentPassword: user.password,
        newPassword: 'elevenchars',
      });
      expect(short.statusCode).toBe(400);
      expect(short.json().message).toEqual(['newPassword: must be at least 12 characters']);
      const long = await change(consoleHeaders(browser), {
        currentPassword: user.password,
        newPassword: 'x'.repeat(1025),
      });
      expect(long.statusCode).toBe(400);
      const same = await change(consoleHeaders(browser), {
        currentPassword: user.password,
        newPassword: user.password,
      });
      expect(same.statusCode).toBe(400);
      const types = await change(consoleHeaders(browser), { currentPassword: 1, newPassword: ['x'] });
      expect(types.statusCode).toBe(400);
      expect(types.json().message).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^currentPassword: /),
          expect.stringMatching(/^newPassword: /),
        ]),
      );
      const noCsrf = await change(
        { cookie: browser.cookie, origin: 'http://localhost' },
        {
          currentPassword: user.password,
          newPassword: 'a brand new passphrase',
        },
      );
      expect(noCsrf.statusCode).toBe(403);
    });

    it('from the console: keeps this session, ends every other session, refresh token and older access token', async () => {
      const user = await createUser(app, 'operator');
      const events = new RedisEventBus({
        redis: 'redis://127.0.0.1:6379',
        prefix: `${prefix}:events`,
        verifyKey: TEST_EVENT_SIGNING_KEY.verifyKey,
        logger: createLogger({ name: 'test-subscriber', level: 'silent' }),
      });
      const heard: Array<{ userId: string; actor: string }> = [];
      events.on('UserSessionsRevoked', (event) => {
        heard.push(event.payload);
      });
      await events.start();
      try {
        const current = await signInBrowser(app, user);
        const otherBrowser = await signInBrowser(app, user);
        const pair = await tokensFor(user);
        clock.advanceSeconds(1); // the old access token's iat is now strictly before the change

        const response = await change(consoleHeaders(current), {
          currentPassword: user.password,
          newPassword: 'a brand new passphrase',
        });
        expect(response.statusCode).toBe(204);
        expect((await meWith({ cookie: current.cookie })).statusCode).toBe(200);
        expect((await meWith({ cookie: otherBrowser.cookie })).statusCode).toBe(401);
        const oldAccess = await meWith(bearer(pair));
        expect(oldAccess.statusCode).toBe(401);
        expect(oldAccess.json().message).toBe('Token revoked');
        expect((await refresh(pair.refreshToken)).statusCode).toBe(401);

        const login = (password: string) => post('/api/v1/auth/token', { username: user.username, password });
        expect((await login(user.password)).statusCode).toBe(401);
        expect((await login('a brand new passphrase')).statusCode).toBe(200);

        const audit = await actionsOf('auth.password_changed', user.user.id);
        expect(audit[0]?.details).toMatchObject({ revokedSessions: 1, revokedRefreshTokens: 1 });
        await waitFor(() => heard.length > 0);
        expect(heard).toEqual([{ userId: user.user.id, actor: `user:${user.user.id}` }]);
      } finally {
        await events.stop();
      }
    });

    it('with a bearer token: answers a fresh pair (the old tokens died with the password)', async () => {
      const user = await createUser(app, 'operator');
      const pair = await tokensFor(user);
      clock.advanceSeconds(1);
      const response = await change(bearer(pair), {
        currentPassword: user.password,
        newPassword: 'another new passphrase',
      });
      expect(response.statusCode).toBe(200);
      const fresh = response.json<Pair>();
      expect((await meWith(bearer(pair))).statusCode).toBe(401);
      expect((await meWith(bearer(fresh))).statusCode).toBe(200);
      expect((await refresh(pair.refreshToken)).statusCode).toBe(401);
      expect((await refresh(fresh.refreshToken)).statusCode).toBe(200);
    });
  });
});
