import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SessionRepository, UserRepository } from '@switchboard/data-access';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import {
  browserSessionOf,
  consoleHeaders,
  createUser,
  inject,
  ORIGIN,
  panelLogin,
  signInBrowser,
  type TestUser,
} from '../../test/auth-helpers';
import { startTestApp } from '../../test/api-test-harness';
import { ManualClock } from '../../test/manual-clock';
import { AuditLog } from '../audit/audit-log';
import { DatabaseConnection } from '../database/database.connection';
import { sha256 } from './opaque-token';

describe('password login, browser sessions and CSRF', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
  let admin: TestUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp(
      { DATABASE_URL: database.url, REDIS_KEY_PREFIX: `test-login-${process.pid}-${Date.now()}` },
      { clock },
    );
    admin = await createUser(app, 'admin');
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  /** No users administration on this branch yet: flip the flag the way an admin's change would. */
  async function disable(userId: string): Promise<void> {
    await app.get(DatabaseConnection).client.user.update({ where: { id: userId }, data: { disabled: true } });
  }

  async function auditActions(): Promise<string[]> {
    const page = await app.get(AuditLog).repository.list({ limit: 500 });
    return page.entries.map((entry) => entry.action);
  }

  it('POST /auth/login sets the session and CSRF cookies with exactly the specified attributes', async () => {
    const response = await panelLogin(app, admin);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      mfaRequired: false,
      user: { id: admin.user.id, username: admin.username, role: 'admin', passwordMustChange: false },
    });
    const setCookie = response.headers['set-cookie'] as string[];
    expect(setCookie).toHaveLength(2);
    const session = setCookie.find((line) => line.startsWith('__Host-sb_session='));
    const csrf = setCookie.find((line) => line.startsWith('__Host-sb_csrf='));
    expect(session).toMatch(/^__Host-sb_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    // Readable by the console's script (no HttpOnly), and a session cookie (no Max-Age/Expires).
    expect(csrf).toMatch(/^__Host-sb_csrf=[A-Za-z0-9_-]{43}; Path=\/; Secure; SameSite=Lax$/);
    expect(body.csrfToken).toBe(browserSessionOf(response).csrf);
    expect(body.expiresAt).toBe(new Date(clock.now().getTime() + 12 * 3_600_000).toISOString());
    expect(await auditActions()).toContain('auth.login');
  });

  it('rememberMe gives both cookies a 7-day Max-Age', async () => {
    const response = await panelLogin(app, { ...admin, rememberMe: true });
    expect(response.statusCode).toBe(200);
    for (const line of response.headers['set-cookie'] as string[]) {
      expect(line).toMatch(/; Max-Age=604800(;|$)/);
    }
    expect(new Date(response.json<{ expiresAt: string }>().expiresAt).getTime() - clock.now().getTime()).toBe(
      7 * 86_400_000,
    );
  });

  it('the session cookie authenticates GET /auth/me on the panel channel', async () => {
    const browser = await signInBrowser(app, admin);
    const response = await inject(app, {
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { cookie: browser.cookie },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: admin.user.id,
      username: admin.username,
      channel: 'panel',
      credential: 'session',
      totpEnabled: false,
    });
  });

  it('the session is stored only as its SHA-256', async () => {
    const browser = await signInBrowser(app, admin);
    const sessions = app.get(SessionRepository);
    expect(await sessions.findByTokenHash(sha256(browser.session))).toMatchObject({ userId: admin.user.id });
    const raw = await app.get(DatabaseConnection).client.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM sessions WHERE token_hash = convert_to(${browser.session}, 'UTF8')`;
    expect(raw[0]?.n).toBe(0);
  });

  it('POST /auth/token returns a bearer pair that opens the API', async () => {
    const response = await inject(app, {
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: { username: admin.username, password: admin.password },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      tokenType: 'Bearer',
      expiresIn: 900,
    });
    expect(response.headers['set-cookie']).toBeUndefined();
    const me = await inject(app, {
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${body.accessToken}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ channel: 'api', credential: 'access_token' });
  });

  it('answers every bad-credential case with the same 401 and audits the reason', async () => {
    const disabled = await createUser(app, 'viewer');
    await disable(disabled.user.id);

    const cases = [
      { username: admin.username, password: 'wrong password!' },
      { username: 'nobody-at-all', password: 'whatever it is' },
      { username: disabled.username, password: disabled.password },
    ];
    const bodies = [];
    for (const [index, payload] of cases.entries()) {
      const response = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload,
        ip: `10.1.0.${index + 1}`,
      });
      expect(response.statusCode).toBe(401);
      bodies.push(response.json().message);
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    expect(new Set(bodies)).toEqual(new Set(['Invalid username or password']));

    const page = await app.get(AuditLog).repository.list({ action: 'auth.login_failed', limit: 50 });
    const reasons = page.entries.map((entry) => (entry.details as { reason: string }).reason);
    expect(reasons).toEqual(expect.arrayContaining(['bad_password', 'unknown_user', 'disabled']));
    const unknown = page.entries.find(
      (entry) => (entry.details as { reason: string }).reason === 'unknown_user',
    );
    expect(unknown).toMatchObject({ actorType: 'anonymous', ip: '10.1.0.2' });
    // An unknown name may be a password typed in the wrong field: a keyed digest, never the text.
    expect(unknown?.details).toMatchObject({
      usernameDigest: expect.stringMatching(/^[0-9a-f]{32}$/),
      usernameLength: 'nobody-at-all'.length,
      context: 'panel',
    });
    expect(JSON.stringify(unknown?.details)).not.toContain('nobody-at-all');
  });

  it('records the same digest for the same unknown name, and none of its text however long', async () => {
    const long = 'x'.repeat(200);
    const response = await inject(app, {
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: { username: long, password: 'whatever it is' },
      ip: '10.1.1.1',
    });
    expect(response.statusCode).toBe(401);
    const page = await app.get(AuditLog).repository.list({ action: 'auth.login_failed', limit: 50 });
    const entry = page.entries.find((item) => item.ip === '10.1.1.1');
    expect(entry?.details).toMatchObject({ usernameLength: 200 });
    expect(JSON.stringify(entry?.details)).not.toContain('xxxx');
    await inject(app, {
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: { username: long, password: 'another guess' },
      ip: '10.1.1.2',
    });
    const again = (
      await app.get(AuditLog).repository.list({ action: 'auth.login_failed', limit: 50 })
    ).entries.find((item) => item.ip === '10.1.1.2');
    expect((again?.details as { usernameDigest: string }).usernameDigest).toBe(
      (entry?.details as { usernameDigest: string }).usernameDigest,
    );
  });

  it('an unknown user costs an argon2 verification just like a wrong password (dummy verify)', async () => {
    async function timed(username: string, ip: string): Promise<number> {
      const started = process.hrtime.bigint();
      const response = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/token',
        payload: { username, password: 'definitely not it' },
        ip,
      });
      expect(response.statusCode).toBe(401);
      return Number(process.hrtime.bigint() - started) / 1e6;
    }
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      known.push(await timed(admin.username, `10.2.0.${round}`));
      unknown.push(await timed(`ghost-${round}`, `10.2.1.${round}`));
    }
    // argon2id at 64 MiB costs tens of milliseconds at least; a skipped verify would be ~1 ms.
    expect(median(unknown)).toBeGreaterThan(median(known) / 3);
    expect(median(unknown)).toBeGreaterThan(15);
  });

  it('a pro user gets 403 at the console login but tokens at /auth/token', async () => {
    const pro = await createUser(app, 'pro');
    const panel = await panelLogin(app, pro);
    expect(panel.statusCode).toBe(403);
    expect(panel.json().message).toMatch(/pro role cannot use the console/);
    expect(panel.headers['set-cookie']).toBeUndefined();
    const api = await inject(app, {
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: { username: pro.username, password: pro.password },
    });
    expect(api.statusCode).toBe(200);
  });

  it('usernames match case-insensitively', async () => {
    const response = await panelLogin(app, {
      username: admin.username.toUpperCase(),
      password: admin.password,
    });
    expect(response.statusCode).toBe(200);
  });

  describe('bad input', () => {
    it.each([
      ['missing fields', {}, ['username: ', 'password: ']],
      [
        'wrong types',
        { username: 42, password: true, rememberMe: 'yes' },
        ['username', 'password', 'rememberMe'],
      ],
      ['an oversized password', { username: 'a', password: 'p'.repeat(1025) }, ['password']],
      ['an oversized username', { username: 'u'.repeat(257), password: 'p' }, ['username']],
    ])('%s → 400 naming each bad field', async (_name, payload, fields) => {
      const response = await inject(app, { method: 'POST', url: '/api/v1/auth/login', payload });
      expect(response.statusCode).toBe(400);
      const message = (response.json().message as string[]).join('\n');
      for (const field of fields) expect(message).toContain(field);
    });

    it('malformed JSON → 400', async () => {
      const response = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: '{"username": "a", ',
        headers: { 'content-type': 'application/json' },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toMatch(/not valid JSON/);
    });
  });

  describe('session fixation', () => {
    it('a login revokes the session cookie it was sent with and issues a new token', async () => {
      const first = await signInBrowser(app, admin);
      const response = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: admin.username, password: admin.password },
        headers: { cookie: first.cookie, origin: ORIGIN },
      });
      expect(response.statusCode).toBe(200);
      const second = browserSessionOf(response);
      expect(second.session).not.toBe(first.session);
      const old = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: first.cookie },
      });
      expect(old.statusCode).toBe(401);
      const fresh = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: second.cookie },
      });
      expect(fresh.statusCode).toBe(200);
    });
  });

  describe('CSRF and Origin on state changes', () => {
    // DELETE of an unknown own session: passes the guard only if CSRF/Origin pass, then 404.
    const url = '/api/v1/auth/sessions/00000000-0000-4000-8000-000000000000';

    it('both right → the request goes through', async () => {
      const browser = await signInBrowser(app, admin);
      const response = await inject(app, { method: 'DELETE', url, headers: consoleHeaders(browser) });
      expect(response.statusCode).toBe(404);
    });

    it('missing CSRF header → 403', async () => {
      const browser = await signInBrowser(app, admin);
      const response = await inject(app, {
        method: 'DELETE',
        url,
        headers: { cookie: browser.cookie, origin: ORIGIN },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().message).toMatch(/CSRF/);
    });

    it('CSRF header that differs from the cookie → 403', async () => {
      const browser = await signInBrowser(app, admin);
      const response = await inject(app, {
        method: 'DELETE',
        url,
        headers: { ...consoleHeaders(browser), 'x-csrf-token': differentLastChar(browser.csrf) },
      });
      expect(response.statusCode).toBe(403);
    });

    it('header and cookie equal but not bound to this session → 403', async () => {
      const browser = await signInBrowser(app, admin);
      const other = await signInBrowser(app, admin);
      const response = await inject(app, {
        method: 'DELETE',
        url,
        headers: {
          cookie: `__Host-sb_session=${browser.session}; __Host-sb_csrf=${other.csrf}`,
          'x-csrf-token': other.csrf,
          origin: ORIGIN,
        },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().message).toMatch(/does not match this session/);
    });

    it('foreign Origin → 403, even with a valid CSRF token', async () => {
      const browser = await signInBrowser(app, admin);
      const response = await inject(app, {
        method: 'DELETE',
        url,
        headers: { ...consoleHeaders(browser), origin: 'https://evil.example' },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().message).toMatch(/Origin/);
    });

    it('no Origin: the Referer decides; neither header → 403', async () => {
      const browser = await signInBrowser(app, admin);
      const { origin: _origin, ...noOrigin } = consoleHeaders(browser);
      const good = await inject(app, {
        method: 'DELETE',
        url,
        headers: { ...noOrigin, referer: `${ORIGIN}/console/sessions` },
      });
      expect(good.statusCode).toBe(404);
      const bad = await inject(app, {
        method: 'DELETE',
        url,
        headers: { ...noOrigin, referer: 'https://evil.example/page' },
      });
      expect(bad.statusCode).toBe(403);
      const none = await inject(app, { method: 'DELETE', url, headers: noOrigin });
      expect(none.statusCode).toBe(403);
    });

    it('GET needs no CSRF token', async () => {
      const browser = await signInBrowser(app, admin);
      const response = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/sessions',
        headers: { cookie: `__Host-sb_session=${browser.session}` },
      });
      expect(response.statusCode).toBe(200);
    });

    it('a bearer token needs no CSRF token (CSRF is about cookies)', async () => {
      const token = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/token',
        payload: { username: admin.username, password: admin.password },
      });
      const response = await inject(app, {
        method: 'DELETE',
        url,
        headers: { authorization: `Bearer ${token.json().accessToken}` },
      });
      expect(response.statusCode).toBe(404);
    });

    it('a browser login from a foreign Origin is refused (login CSRF)', async () => {
      const response = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: admin.username, password: admin.password },
        headers: { origin: 'https://evil.example' },
      });
      expect(response.statusCode).toBe(403);
    });

    // Issue 10 item 32: without PUBLIC_URL a Host header never vouches for a name of its own.
    it('without PUBLIC_URL, an Origin that only agrees with a non-loopback Host is refused (DNS rebinding)', async () => {
      const response = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: admin.username, password: admin.password },
        headers: { host: 'rebound.example', origin: 'http://rebound.example' },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().message).toMatch(/PUBLIC_URL/);
      const browser = await signInBrowser(app, admin);
      const stateChange = await inject(app, {
        method: 'DELETE',
        url,
        headers: { ...consoleHeaders(browser), host: 'rebound.example', origin: 'http://rebound.example' },
      });
      expect(stateChange.statusCode).toBe(403);
    });

    // Issue 10 item 28: only the Bearer scheme is a credential of ours.
    it('an Authorization header of another scheme leaves the request to the cookie session', async () => {
      const browser = await signInBrowser(app, admin);
      const response = await inject(app, {
        method: 'DELETE',
        url,
        headers: { ...consoleHeaders(browser), authorization: 'Basic cHJveHk6cGFzcw==' },
      });
      expect(response.statusCode).toBe(404);
      const malformedBearer = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: browser.cookie, authorization: 'Bearer not a token' },
      });
      expect(malformedBearer.statusCode).toBe(401);
    });
  });

  describe('with PUBLIC_URL set', () => {
    let proxied: NestFastifyApplication;

    beforeAll(async () => {
      proxied = await startTestApp(
        {
          DATABASE_URL: database.url,
          REDIS_KEY_PREFIX: `test-login-public-${process.pid}-${Date.now()}`,
          PUBLIC_URL: 'https://console.example.com/',
        },
        { clock },
      );
    });

    afterAll(async () => {
      await proxied?.close();
    });

    it('the origin must be PUBLIC_URL\u2019s, not the Host the api happens to see', async () => {
      const login = await inject(proxied, {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: admin.username, password: admin.password },
        headers: { origin: 'https://console.example.com' },
      });
      expect(login.statusCode).toBe(200);
      const browser = browserSessionOf(login);
      const url = '/api/v1/auth/sessions/00000000-0000-4000-8000-000000000000';
      const headers = { cookie: browser.cookie, 'x-csrf-token': browser.csrf };
      const good = await inject(proxied, {
        method: 'DELETE',
        url,
        headers: { ...headers, origin: 'https://console.example.com' },
      });
      expect(good.statusCode).toBe(404);
      const hostOnly = await inject(proxied, {
        method: 'DELETE',
        url,
        headers: { ...headers, origin: ORIGIN },
      });
      expect(hostOnly.statusCode).toBe(403);
    });
  });

  describe('session lifetime', () => {
    it('expires after 8 hours idle, and use within that keeps it alive', async () => {
      // A remember-me session, so the 12-hour absolute limit of the others plays no part here.
      const browser = browserSessionOf(await panelLogin(app, { ...admin, rememberMe: true }));
      const me = () =>
        inject(app, { method: 'GET', url: '/api/v1/auth/me', headers: { cookie: browser.cookie } });
      clock.advanceSeconds(7 * 3600);
      expect((await me()).statusCode).toBe(200); // touches last_seen_at
      clock.advanceSeconds(7 * 3600);
      expect((await me()).statusCode).toBe(200);
      clock.advanceSeconds(8 * 3600 - 1);
      expect((await me()).statusCode).toBe(200);
      clock.advanceSeconds(8 * 3600 + 1);
      const expired = await me();
      expect(expired.statusCode).toBe(401);
      expect(expired.json().message).toBe('Session expired or signed out');
    });

    it('last_seen_at is written at most once a minute', async () => {
      const browser = await signInBrowser(app, admin);
      const me = () =>
        inject(app, { method: 'GET', url: '/api/v1/auth/me', headers: { cookie: browser.cookie } });
      const lastSeen = async () =>
        (await app.get(SessionRepository).findByTokenHash(sha256(browser.session)))?.lastSeenAt.getTime();
      const start = await lastSeen();
      clock.advanceSeconds(30);
      await me();
      expect(await lastSeen()).toBe(start);
      clock.advanceSeconds(31);
      await me();
      expect(await lastSeen()).toBe(clock.now().getTime());
    });

    it('without rememberMe a session ends 12 hours after login however busy; with it, 7 days', async () => {
      const short = await signInBrowser(app, admin);
      const long = browserSessionOf(await panelLogin(app, { ...admin, rememberMe: true }));
      const me = (browser: { cookie: string }) =>
        inject(app, { method: 'GET', url: '/api/v1/auth/me', headers: { cookie: browser.cookie } });
      for (let hour = 0; hour < 12; hour += 6) {
        clock.advanceSeconds(6 * 3600 - 1);
        expect((await me(short)).statusCode).toBe(200);
        expect((await me(long)).statusCode).toBe(200);
      }
      clock.advanceSeconds(2);
      expect((await me(short)).statusCode).toBe(401);
      expect((await me(long)).statusCode).toBe(200);
      for (let step = 0; step < 22; step += 1) {
        clock.advanceSeconds(7 * 3600);
        await me(long);
      }
      // 12 h + 154 h = 166 h < 168 h: still alive; past 7 days it is over.
      expect((await me(long)).statusCode).toBe(200);
      clock.advanceSeconds(2 * 3600 + 1);
      expect((await me(long)).statusCode).toBe(401);
    });

    it('a disabled user\u2019s session stops working at once', async () => {
      const viewer = await createUser(app, 'viewer');
      const browser = await signInBrowser(app, viewer);
      await disable(viewer.user.id);
      const response = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: browser.cookie },
      });
      expect(response.statusCode).toBe(401);
    });

    // Issue 10 item 23: a cookie without the __Host- prefix may have been planted by a sibling subdomain.
    it('a session token in an unprefixed sb_session cookie is not accepted', async () => {
      const browser = await signInBrowser(app, admin);
      const response = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: `sb_session=${browser.session}` },
      });
      expect(response.statusCode).toBe(401);
    });

    it('a garbage session cookie is 401, not 500', async () => {
      const response = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: '__Host-sb_session=%%%not-a-token' },
      });
      expect(response.statusCode).toBe(401);
    });
  });

  describe('logout', () => {
    it('ends the cookie session, clears both cookies and audits it', async () => {
      const browser = await signInBrowser(app, admin);
      const response = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: consoleHeaders(browser),
      });
      expect(response.statusCode).toBe(204);
      const cleared = response.headers['set-cookie'] as string[];
      expect(cleared).toHaveLength(2);
      for (const line of cleared)
        expect(line).toMatch(
          /^__Host-sb_(session|csrf)=; Max-Age=0; Path=\/; Expires=.*; Secure; SameSite=Lax/,
        );
      const after = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: browser.cookie },
      });
      expect(after.statusCode).toBe(401);
      expect(await auditActions()).toContain('auth.logout');
    });

    it('a cookie logout without the CSRF token is 403 and the session lives on', async () => {
      const browser = await signInBrowser(app, admin);
      const response = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: { cookie: browser.cookie, origin: ORIGIN },
      });
      expect(response.statusCode).toBe(403);
      const after = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: browser.cookie },
      });
      expect(after.statusCode).toBe(200);
    });

    it('with nothing to sign out → 401', async () => {
      const response = await inject(app, { method: 'POST', url: '/api/v1/auth/logout' });
      expect(response.statusCode).toBe(401);
    });
  });

  describe('a password someone else set', () => {
    it('can log in, reach self-service, and nothing else until it is changed', async () => {
      const user = await createUser(app, 'admin', { passwordMustChange: true });
      const login = await panelLogin(app, user);
      expect(login.statusCode).toBe(200);
      expect(login.json().user.passwordMustChange).toBe(true);
      const browser = browserSessionOf(login);
      const me = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: browser.cookie },
      });
      expect(me.statusCode).toBe(200);
      const probe = () =>
        inject(app, { method: 'GET', url: '/api/v1/users', headers: { cookie: browser.cookie } });
      const refused = await probe();
      expect(refused.statusCode).toBe(403);
      expect(refused.json().message).toMatch(/Password change required/);

      const change = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/password',
        headers: consoleHeaders(browser),
        payload: { currentPassword: user.password, newPassword: 'my very own new password' },
      });
      expect(change.statusCode).toBe(204);
      expect((await app.get(UserRepository).findById(user.user.id))?.passwordMustChange).toBe(false);
      expect((await probe()).statusCode).toBe(200);
    });

    it('a viewer with a correct session still lacks user.view (403, not 401)', async () => {
      const viewer = await createUser(app, 'viewer');
      const browser = await signInBrowser(app, viewer);
      const response = await inject(app, {
        method: 'GET',
        url: '/api/v1/users',
        headers: { cookie: browser.cookie },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().message).toBe('Missing permission user.view');
    });
  });
});

/** The same token with its last character changed (never to itself). */
function differentLastChar(token: string): string {
  return `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
}
