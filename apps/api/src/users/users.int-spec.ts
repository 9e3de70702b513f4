import { randomUUID } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type EventPayload, RedisEventBus } from '@switchboard/events';
import { createLogger } from '@switchboard/observability';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { type InjectOptions } from 'fastify';

import {
  signInAs,
  type SignedInUser,
  startTestApp,
  TEST_EVENT_SIGNING_KEY,
} from '../../test/api-test-harness';
import { AccessTokens } from '../auth/access-tokens';
import { PasswordHasher } from '../auth/password-hasher';
import { DatabaseConnection } from '../database/database.connection';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface UserBody {
  id: string;
  username: string;
  displayName: string | null;
  email: string | null;
  note: string | null;
  role: string;
  disabled: boolean;
  passwordMustChange: boolean;
}

interface ListBody {
  items: UserBody[];
  total: number;
  page: number;
  pageSize: number;
}

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const REDIS_KEY_PREFIX = `test-users-${process.pid}`;

describe('users administration', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let events: RedisEventBus;
  const revokedSessions: EventPayload<'UserSessionsRevoked'>[] = [];
  let admin: SignedInUser;
  let operator: SignedInUser;
  let viewer: SignedInUser;
  let pro: SignedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url, REDIS_KEY_PREFIX });
    events = new RedisEventBus({
      redis: 'redis://127.0.0.1:6379',
      prefix: `${REDIS_KEY_PREFIX}:events`,
      verifyKey: TEST_EVENT_SIGNING_KEY.verifyKey,
      logger: createLogger({ name: 'users-test-events', level: 'silent' }),
    });
    events.on('UserSessionsRevoked', (event) => {
      revokedSessions.push(event.payload);
    });
    await events.start();
    admin = await signInAs(app, 'admin');
    operator = await signInAs(app, 'operator');
    viewer = await signInAs(app, 'viewer');
    pro = await signInAs(app, 'pro');
  });

  afterAll(async () => {
    await events?.stop();
    await app?.close();
    await database?.drop();
  });

  const db = () => app.get(DatabaseConnection).client;

  function call(method: Method, url: string, user: SignedInUser | null, payload?: unknown) {
    const options: InjectOptions = {
      method,
      url,
      headers: user === null ? {} : { authorization: user.authorization },
    };
    if (payload !== undefined) {
      options.payload = typeof payload === 'string' ? payload : JSON.stringify(payload);
      options.headers = { ...options.headers, 'content-type': 'application/json' };
    }
    return app.inject(options);
  }

  async function createUser(
    body: Record<string, unknown>,
  ): Promise<{ user: UserBody; oneTimePassword?: string }> {
    const response = await call('POST', '/api/v1/users', admin, { role: 'viewer', ...body });
    expect(response.statusCode).toBe(201);
    return response.json();
  }

  let created = 0;
  const uniqueName = (stem: string) => `${stem}-${++created}`;

  async function eventually(check: () => boolean): Promise<void> {
    for (let attempt = 0; attempt < 100 && !check(); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(check()).toBe(true);
  }

  /** A live browser session and refresh token, as the login flow would leave them. */
  async function giveLogins(userId: string): Promise<void> {
    const expiresAt = new Date(Date.now() + 3_600_000);
    await db().session.create({ data: { userId, tokenHash: Buffer.from(`s-${userId}`), expiresAt } });
    await db().refreshToken.create({
      data: { userId, familyId: UNKNOWN_ID, tokenHash: Buffer.from(`r-${userId}`), expiresAt },
    });
  }

  async function liveLogins(userId: string): Promise<number> {
    const sessions = await db().session.count({ where: { userId, revokedAt: null } });
    const refreshTokens = await db().refreshToken.count({ where: { userId, revokedAt: null } });
    return sessions + refreshTokens;
  }

  const audits = (action: string, targetId: string) =>
    db().auditEntry.findMany({ where: { action, targetId }, orderBy: { seq: 'asc' } });

  describe('who may', () => {
    const routes: [Method, (id: string) => string, 'user.view' | 'user.manage', unknown][] = [
      ['GET', () => '/api/v1/users', 'user.view', undefined],
      ['GET', (id) => `/api/v1/users/${id}`, 'user.view', undefined],
      ['POST', () => '/api/v1/users', 'user.manage', { username: 'nobody', role: 'viewer' }],
      ['PATCH', (id) => `/api/v1/users/${id}`, 'user.manage', { note: 'x' }],
      ['POST', (id) => `/api/v1/users/${id}/disable`, 'user.manage', {}],
      ['POST', (id) => `/api/v1/users/${id}/enable`, 'user.manage', {}],
      ['POST', (id) => `/api/v1/users/${id}/reset-password`, 'user.manage', {}],
      ['DELETE', (id) => `/api/v1/users/${id}`, 'user.manage', undefined],
    ];

    it.each(routes)(
      '%s %s: 401 without credentials, 403 for operator, viewer and pro',
      async (method, url, _p, body) => {
        const path = url(viewer.user.id);
        expect((await call(method, path, null, body)).statusCode).toBe(401);
        for (const user of [operator, viewer, pro]) {
          expect((await call(method, path, user, body)).statusCode).toBe(403);
        }
        // Nothing happened to the target on the way.
        const target = await db().user.findUniqueOrThrow({ where: { id: viewer.user.id } });
        expect(target).toMatchObject({ disabled: false, note: null, role: 'viewer' });
      },
    );

    it('refuses an admin whose password must change first (403)', async () => {
      const pending = await signInAs(app, 'admin', { passwordMustChange: true });
      expect((await call('GET', '/api/v1/users', pending)).statusCode).toBe(403);
    });
  });

  describe('GET /api/v1/users', () => {
    it('lists users without password hashes or TOTP secrets', async () => {
      const response = await call('GET', '/api/v1/users', admin);
      expect(response.statusCode).toBe(200);
      const body = response.json<ListBody>();
      expect(body.items.map((user) => user.id)).toEqual(
        expect.arrayContaining([admin.user.id, viewer.user.id]),
      );
      expect(response.body).not.toMatch(/argon2|passwordHash|totpSecret/);
      expect(Object.keys(body.items[0] ?? {}).sort()).toEqual(
        [
          'createdAt',
          'disabled',
          'displayName',
          'email',
          'id',
          'lastLoginAt',
          'note',
          'passwordChangedAt',
          'passwordMustChange',
          'role',
          'totpEnabled',
          'updatedAt',
          'username',
        ].sort(),
      );
    });

    it('paginates by username and caps the page size', async () => {
      for (let index = 0; index < 3; index++) await createUser({ username: uniqueName('page') });
      const all = (await call('GET', '/api/v1/users?search=page-&pageSize=200', admin)).json<ListBody>();
      expect(all.total).toBe(3);
      const names = all.items.map((user) => user.username);
      expect(names).toEqual([...names].sort());

      const second = (
        await call('GET', '/api/v1/users?search=page-&page=2&pageSize=2', admin)
      ).json<ListBody>();
      expect(second).toMatchObject({ total: 3, page: 2, pageSize: 2 });
      expect(second.items.map((user) => user.username)).toEqual([names[2]]);

      const capped = (await call('GET', '/api/v1/users?pageSize=100000', admin)).json<ListBody>();
      expect(capped.pageSize).toBe(200);
      const beyond = (await call('GET', '/api/v1/users?page=999', admin)).json<ListBody>();
      expect(beyond.items).toEqual([]);
      expect(beyond.total).toBeGreaterThan(0);
    });

    it('searches username, display name and email case-insensitively', async () => {
      const { user: byName } = await createUser({ username: uniqueName('zebra') });
      const { user: byDisplay } = await createUser({
        username: uniqueName('d'),
        displayName: 'Big ZEBRA fan',
      });
      const { user: byEmail } = await createUser({
        username: uniqueName('e'),
        email: 'zebra.keeper@example.org',
      });
      await createUser({ username: uniqueName('horse') });
      const found = (await call('GET', '/api/v1/users?search=ZeBrA', admin)).json<ListBody>();
      expect(found.items.map((user) => user.id).sort()).toEqual([byName.id, byDisplay.id, byEmail.id].sort());
    });

    it('matches %, _ and \\ literally (LIKE metacharacters escaped)', async () => {
      const { user: percent } = await createUser({ username: uniqueName('pct'), displayName: '100% uptime' });
      await createUser({ username: uniqueName('pcx'), displayName: '100 x uptime' });
      const { user: underscore } = await createUser({ username: uniqueName('snake_case') });
      const { user: backslash } = await createUser({ username: uniqueName('bs'), displayName: 'C:\\Users' });

      const byPercent = (
        await call('GET', `/api/v1/users?search=${encodeURIComponent('100%')}`, admin)
      ).json<ListBody>();
      expect(byPercent.items.map((user) => user.id)).toEqual([percent.id]);
      const byUnderscore = (await call('GET', '/api/v1/users?search=_', admin)).json<ListBody>();
      expect(byUnderscore.items.map((user) => user.id)).toEqual([underscore.id]);
      const byBackslash = (
        await call('GET', `/api/v1/users?search=${encodeURIComponent('\\')}`, admin)
      ).json<ListBody>();
      expect(byBackslash.items.map((user) => user.id)).toEqual([backslash.id]);
      const lonePercent = (await call('GET', '/api/v1/users?search=%25', admin)).json<ListBody>();
      expect(lonePercent.items.map((user) => user.id)).toEqual([percent.id]);
    });

    it('filters by role and by disabled', async () => {
      const { user: disabledPro } = await createUser({ username: uniqueName('filtered'), role: 'pro' });
      expect((await call('POST', `/api/v1/users/${disabledPro.id}/disable`, admin, {})).statusCode).toBe(200);

      const pros = (await call('GET', '/api/v1/users?role=pro&pageSize=200', admin)).json<ListBody>();
      expect(pros.items.length).toBeGreaterThan(0);
      expect(pros.items.every((user) => user.role === 'pro')).toBe(true);
      expect(pros.items.map((user) => user.id)).toContain(pro.user.id);

      const disabled = (
        await call('GET', '/api/v1/users?disabled=true&pageSize=200', admin)
      ).json<ListBody>();
      expect(disabled.items.length).toBeGreaterThan(0);
      expect(disabled.items.every((user) => user.disabled)).toBe(true);
      expect(disabled.items.map((user) => user.id)).toContain(disabledPro.id);

      const enabledPros = (
        await call('GET', '/api/v1/users?role=pro&disabled=false', admin)
      ).json<ListBody>();
      expect(enabledPros.items.map((user) => user.id)).not.toContain(disabledPro.id);
    });

    it.each([
      'page=0',
      'page=abc',
      'pageSize=0',
      'role=root',
      'disabled=yes',
      `search=${'s'.repeat(129)}`,
      'unknown=1',
    ])('refuses ?%s with 400', async (query) => {
      expect((await call('GET', `/api/v1/users?${query}`, admin)).statusCode).toBe(400);
    });
  });

  describe('GET /api/v1/users/:id', () => {
    it('answers one user, 404 for an unknown id, 400 for a malformed one', async () => {
      const found = await call('GET', `/api/v1/users/${viewer.user.id}`, admin);
      expect(found.statusCode).toBe(200);
      expect(found.json<UserBody>()).toMatchObject({
        id: viewer.user.id,
        username: viewer.user.username,
        role: 'viewer',
      });
      expect(found.body).not.toMatch(/argon2|passwordHash|totpSecret/);
      expect((await call('GET', `/api/v1/users/${UNKNOWN_ID}`, admin)).statusCode).toBe(404);
      expect((await call('GET', '/api/v1/users/42', admin)).statusCode).toBe(400);
    });
  });

  describe('POST /api/v1/users', () => {
    it('generates a one-time password, returns it once and makes it change at first login', async () => {
      const response = await call('POST', '/api/v1/users', admin, {
        username: 'Grace.Hopper',
        role: 'operator',
        displayName: 'Grace Hopper',
        email: 'grace@example.org',
        note: 'COBOL',
      });
      expect(response.statusCode).toBe(201);
      expect(response.headers['cache-control']).toBe('no-store');
      const body = response.json<{ user: UserBody; oneTimePassword: string }>();
      expect(body.oneTimePassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(body.user).toMatchObject({
        username: 'grace.hopper',
        role: 'operator',
        displayName: 'Grace Hopper',
        email: 'grace@example.org',
        note: 'COBOL',
        disabled: false,
        passwordMustChange: true,
      });
      expect(response.body).not.toMatch(/argon2|passwordHash/);

      const row = await db().user.findUniqueOrThrow({ where: { id: body.user.id } });
      expect(row.passwordHash).toMatch(/^\$argon2id\$/);
      expect(await app.get(PasswordHasher).verify(row.passwordHash, body.oneTimePassword)).toBe(true);

      // Shown once: reading the user again never shows it.
      const again = await call('GET', `/api/v1/users/${body.user.id}`, admin);
      expect(again.body).not.toContain(body.oneTimePassword);

      const [entry] = await audits('user.created', body.user.id);
      expect(entry).toMatchObject({ actorType: 'user', actorId: admin.user.id, targetType: 'user' });
      expect(entry?.details).toMatchObject({
        username: 'grace.hopper',
        role: 'operator',
        passwordSource: 'generated',
      });
      expect(JSON.stringify(entry?.details)).not.toContain(body.oneTimePassword);
    });

    it('takes a given password (must change by default, unless told otherwise) and never echoes it', async () => {
      const password = 'a perfectly long password';
      const response = await call('POST', '/api/v1/users', admin, {
        username: uniqueName('given'),
        password,
        role: 'pro',
      });
      expect(response.statusCode).toBe(201);
      const body = response.json<{ user: UserBody; oneTimePassword?: string }>();
      expect(body.oneTimePassword).toBeUndefined();
      expect(body.user.passwordMustChange).toBe(true);
      expect(response.body).not.toContain(password);
      const row = await db().user.findUniqueOrThrow({ where: { id: body.user.id } });
      expect(await app.get(PasswordHasher).verify(row.passwordHash, password)).toBe(true);
      const [entry] = await audits('user.created', body.user.id);
      expect(JSON.stringify(entry?.details)).not.toContain(password);

      const service = await call('POST', '/api/v1/users', admin, {
        username: uniqueName('service'),
        password,
        role: 'pro',
        passwordMustChange: false,
      });
      expect(service.json<{ user: UserBody }>().user.passwordMustChange).toBe(false);
      // A generated password is someone else's by definition: the opt-out does not apply to it.
      const generated = await call('POST', '/api/v1/users', admin, {
        username: uniqueName('gen'),
        role: 'pro',
        passwordMustChange: false,
      });
      expect(generated.json<{ user: UserBody }>().user.passwordMustChange).toBe(true);
    });

    it('answers 409 for a username that exists, whatever its case', async () => {
      const username = uniqueName('dup');
      await createUser({ username });
      const again = await call('POST', '/api/v1/users', admin, {
        username: username.toUpperCase(),
        role: 'viewer',
      });
      expect(again.statusCode).toBe(409);
      expect(await db().user.count({ where: { username } })).toBe(1);
    });

    it.each([
      ['malformed JSON', '{"username": "x", '],
      ['a missing username', { role: 'viewer' }],
      ['a missing role', { username: 'norole' }],
      ['a username starting with a dot', { username: '.hidden', role: 'viewer' }],
      ['a username with a space', { username: 'two words', role: 'viewer' }],
      ['a username with %', { username: 'per%cent', role: 'viewer' }],
      ['a 65-character username', { username: 'u'.repeat(65), role: 'viewer' }],
      ['a username of the wrong type', { username: 7, role: 'viewer' }],
      ['an unknown role', { username: 'r', role: 'superuser' }],
      ['a short password', { username: 'p', role: 'viewer', password: 'short' }],
      ['an oversized password', { username: 'p', role: 'viewer', password: 'p'.repeat(1025) }],
      ['a bad email', { username: 'm', role: 'viewer', email: 'not-an-email' }],
      ['an oversized display name', { username: 'n', role: 'viewer', displayName: 'd'.repeat(129) }],
      ['an oversized note', { username: 'n', role: 'viewer', note: 'n'.repeat(2001) }],
      ['an unknown field', { username: 'n', role: 'viewer', passwordHash: '$argon2id$' }],
      ['a non-boolean passwordMustChange', { username: 'n', role: 'viewer', passwordMustChange: 'no' }],
    ])('refuses %s with 400', async (_case, payload) => {
      const before = await db().user.count();
      expect((await call('POST', '/api/v1/users', admin, payload)).statusCode).toBe(400);
      expect(await db().user.count()).toBe(before);
    });
  });

  describe('PATCH /api/v1/users/:id', () => {
    it('changes profile fields, audits user.updated with the changed fields only', async () => {
      const { user } = await createUser({ username: uniqueName('patch'), email: 'old@example.org' });
      const response = await call('PATCH', `/api/v1/users/${user.id}`, admin, {
        displayName: 'New Name',
        email: null,
        note: 'on call',
      });
      expect(response.statusCode).toBe(200);
      expect(response.json<UserBody>()).toMatchObject({
        displayName: 'New Name',
        email: null,
        note: 'on call',
      });
      const [entry] = await audits('user.updated', user.id);
      expect(entry?.details).toMatchObject({
        fields: ['displayName', 'email', 'note'],
        changes: {
          email: { from: 'old@example.org', to: null },
          displayName: { from: null, to: 'New Name' },
        },
      });
      expect(await audits('user.role_changed', user.id)).toHaveLength(0);

      // The same values again: nothing changes, nothing is audited.
      const same = await call('PATCH', `/api/v1/users/${user.id}`, admin, { displayName: 'New Name' });
      expect(same.statusCode).toBe(200);
      expect(await audits('user.updated', user.id)).toHaveLength(1);
    });

    it('changes the role with a user.role_changed entry, effective on the next request', async () => {
      const target = await signInAs(app, 'viewer');
      expect((await call('GET', '/api/v1/users', target)).statusCode).toBe(403);
      const response = await call('PATCH', `/api/v1/users/${target.user.id}`, admin, { role: 'admin' });
      expect(response.statusCode).toBe(200);
      expect(response.json<UserBody>().role).toBe('admin');
      expect((await call('GET', '/api/v1/users', target)).statusCode).toBe(200);
      const [entry] = await audits('user.role_changed', target.user.id);
      expect(entry?.details).toMatchObject({ from: 'viewer', to: 'admin' });
      expect(await audits('user.updated', target.user.id)).toHaveLength(0);
    });

    it.each([
      ['an empty change', {}],
      ['a password', { password: 'sneaky new password' }],
      ['a username', { username: 'renamed' }],
      ['an unknown role', { role: 'god' }],
      ['a wrong type', { displayName: 12 }],
      ['an oversized note', { note: 'n'.repeat(2001) }],
      ['malformed JSON', '{"note":'],
    ])('refuses %s with 400', async (_case, payload) => {
      expect((await call('PATCH', `/api/v1/users/${viewer.user.id}`, admin, payload)).statusCode).toBe(400);
    });

    it('answers 404 for an unknown user', async () => {
      expect((await call('PATCH', `/api/v1/users/${UNKNOWN_ID}`, admin, { note: 'x' })).statusCode).toBe(404);
    });
  });

  describe('POST /api/v1/users/:id/disable and /enable', () => {
    it('disables: the user’s tokens stop working and their logins are revoked; enable undoes it', async () => {
      const target = await signInAs(app, 'operator');
      await giveLogins(target.user.id);
      expect((await call('GET', '/api/v1/api-keys', target)).statusCode).toBe(200);

      const disabled = await call('POST', `/api/v1/users/${target.user.id}/disable`, admin, {});
      expect(disabled.statusCode).toBe(200);
      expect(disabled.json<UserBody>().disabled).toBe(true);
      expect((await call('GET', '/api/v1/api-keys', target)).statusCode).toBe(401);
      expect(await liveLogins(target.user.id)).toBe(0);
      await eventually(() => revokedSessions.some((event) => event.userId === target.user.id));
      expect(revokedSessions.find((event) => event.userId === target.user.id)?.actor).toBe(
        `user:${admin.user.id}`,
      );
      const [entry] = await audits('user.disabled', target.user.id);
      expect(entry?.details).toMatchObject({ revoked: { sessions: 1, refreshTokens: 1 } });

      // Disabling twice changes nothing more.
      expect((await call('POST', `/api/v1/users/${target.user.id}/disable`, admin, {})).statusCode).toBe(200);
      expect(await audits('user.disabled', target.user.id)).toHaveLength(1);

      const enabled = await call('POST', `/api/v1/users/${target.user.id}/enable`, admin);
      expect(enabled.statusCode).toBe(200);
      expect(enabled.json<UserBody>().disabled).toBe(false);
      expect(await audits('user.enabled', target.user.id)).toHaveLength(1);
      // Enabling does not revive the tokens the user held before being disabled...
      expect((await call('GET', '/api/v1/api-keys', target)).statusCode).toBe(401);
      // ...but a new login works.
      const fresh = await app.get(AccessTokens).issueAccessToken(target.user, randomUUID());
      expect(
        (
          await app.inject({
            method: 'GET',
            url: '/api/v1/api-keys',
            headers: { authorization: `Bearer ${fresh}` },
          })
        ).statusCode,
      ).toBe(200);
    });

    it('answers 404 for an unknown user and 400 for a malformed id', async () => {
      expect((await call('POST', `/api/v1/users/${UNKNOWN_ID}/disable`, admin, {})).statusCode).toBe(404);
      expect((await call('POST', `/api/v1/users/${UNKNOWN_ID}/enable`, admin, {})).statusCode).toBe(404);
      expect((await call('POST', '/api/v1/users/nope/disable', admin, {})).statusCode).toBe(400);
    });
  });

  describe('POST /api/v1/users/:id/reset-password', () => {
    it('sets a one-time password, forces a change, and ends every login of the user', async () => {
      const target = await signInAs(app, 'viewer');
      await giveLogins(target.user.id);
      expect((await call('GET', '/api/v1/api-keys', target)).statusCode).toBe(200);

      const response = await call('POST', `/api/v1/users/${target.user.id}/reset-password`, admin);
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
      const body = response.json<{ user: UserBody; oneTimePassword: string }>();
      expect(body.oneTimePassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(body.user.passwordMustChange).toBe(true);

      const row = await db().user.findUniqueOrThrow({ where: { id: target.user.id } });
      expect(await app.get(PasswordHasher).verify(row.passwordHash, body.oneTimePassword)).toBe(true);
      expect(await app.get(PasswordHasher).verify(row.passwordHash, target.password)).toBe(false);
      // The access token issued before the reset (even within the same second) is dead.
      expect((await call('GET', '/api/v1/api-keys', target)).statusCode).toBe(401);
      expect(await liveLogins(target.user.id)).toBe(0);
      await eventually(() => revokedSessions.some((event) => event.userId === target.user.id));

      const [entry] = await audits('user.password_reset', target.user.id);
      expect(entry?.details).toMatchObject({
        passwordSource: 'generated',
        revoked: { sessions: 1, refreshTokens: 1 },
      });
      expect(JSON.stringify(entry?.details)).not.toContain(body.oneTimePassword);
    });

    it('takes a given password, and refuses a short one with 400', async () => {
      const { user } = await createUser({ username: uniqueName('reset') });
      const password = 'chosen by the admin today';
      const response = await call('POST', `/api/v1/users/${user.id}/reset-password`, admin, { password });
      expect(response.statusCode).toBe(200);
      expect(response.json<{ oneTimePassword?: string }>().oneTimePassword).toBeUndefined();
      expect(response.body).not.toContain(password);
      const row = await db().user.findUniqueOrThrow({ where: { id: user.id } });
      expect(await app.get(PasswordHasher).verify(row.passwordHash, password)).toBe(true);

      const short = await call('POST', `/api/v1/users/${user.id}/reset-password`, admin, {
        password: 'short',
      });
      expect(short.statusCode).toBe(400);
      const wrongType = await call('POST', `/api/v1/users/${user.id}/reset-password`, admin, {
        password: 123456789012,
      });
      expect(wrongType.statusCode).toBe(400);
      expect(await audits('user.password_reset', user.id)).toHaveLength(1);
    });

    it('answers 404 for an unknown user', async () => {
      expect((await call('POST', `/api/v1/users/${UNKNOWN_ID}/reset-password`, admin, {})).statusCode).toBe(
        404,
      );
    });
  });

  describe('POST /api/v1/users/:id/clear-second-factor', () => {
    /** TOTP on, as a confirmed enrolment leaves it: a sealed secret, the flag, recovery codes. */
    async function turnOnTotp(userId: string): Promise<void> {
      await db().user.update({
        where: { id: userId },
        data: { totpEnabled: true, totpSecretSealed: Buffer.from('sealed'), totpLastStep: 1n },
      });
      await db().recoveryCode.create({ data: { userId, codeHash: Buffer.alloc(32, 1) } });
    }

    async function signsInWithPasswordAlone(user: SignedInUser): Promise<boolean> {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/token',
        payload: { username: user.user.username, password: user.password },
      });
      expect(response.statusCode).toBe(200);
      return typeof response.json<{ accessToken?: string }>().accessToken === 'string';
    }

    it('turns off a user’s TOTP and recovery codes, ends their logins, and audits it', async () => {
      const target = await signInAs(app, 'admin');
      await turnOnTotp(target.user.id);
      await giveLogins(target.user.id);
      expect(await signsInWithPasswordAlone(target)).toBe(false);

      const response = await call('POST', `/api/v1/users/${target.user.id}/clear-second-factor`, admin);
      expect(response.statusCode).toBe(200);
      expect(response.json<{ totpEnabled: boolean }>().totpEnabled).toBe(false);
      const row = await db().user.findUniqueOrThrow({ where: { id: target.user.id } });
      expect(row).toMatchObject({ totpEnabled: false, totpSecretSealed: null, totpLastStep: null });
      expect(await db().recoveryCode.count({ where: { userId: target.user.id } })).toBe(0);
      expect(await liveLogins(target.user.id)).toBe(0);
      await eventually(() => revokedSessions.some((event) => event.userId === target.user.id));
      const [entry] = await audits('user.second_factor_cleared', target.user.id);
      expect(entry).toMatchObject({ actorType: 'user', actorId: admin.user.id });

      expect(await signsInWithPasswordAlone(target)).toBe(true);
      const again = await call('POST', `/api/v1/users/${target.user.id}/clear-second-factor`, admin);
      expect(again.statusCode).toBe(409);
      expect(await audits('user.second_factor_cleared', target.user.id)).toHaveLength(1);
    });

    it('refuses one’s own (403: that is totp/disable, with password and code), other roles, unknown ids', async () => {
      const self = await signInAs(app, 'admin');
      await turnOnTotp(self.user.id);
      expect((await call('POST', `/api/v1/users/${self.user.id}/clear-second-factor`, self)).statusCode).toBe(
        403,
      );
      for (const user of [operator, viewer, pro]) {
        expect(
          (await call('POST', `/api/v1/users/${self.user.id}/clear-second-factor`, user)).statusCode,
        ).toBe(403);
      }
      expect((await call('POST', `/api/v1/users/${UNKNOWN_ID}/clear-second-factor`, admin)).statusCode).toBe(
        404,
      );
      expect((await db().user.findUniqueOrThrow({ where: { id: self.user.id } })).totpEnabled).toBe(true);
    });

    it('a password reset leaves the second factor on: resetting is not a way into the account', async () => {
      const target = await signInAs(app, 'viewer');
      await turnOnTotp(target.user.id);
      const reset = await call('POST', `/api/v1/users/${target.user.id}/reset-password`, admin);
      expect(reset.statusCode).toBe(200);
      expect(reset.json<{ user: { totpEnabled: boolean } }>().user.totpEnabled).toBe(true);
    });
  });

  describe('DELETE /api/v1/users/:id', () => {
    it('deletes the user with their sessions, revokes their API keys, and audits it', async () => {
      const target = await signInAs(app, 'pro');
      await giveLogins(target.user.id);
      const key = await call('POST', '/api/v1/api-keys', target, { name: 'doomed' });
      expect(key.statusCode).toBe(201);
      const keyId = key.json<{ apiKey: { id: string } }>().apiKey.id;

      expect((await call('DELETE', `/api/v1/users/${target.user.id}`, admin)).statusCode).toBe(204);
      expect((await call('GET', `/api/v1/users/${target.user.id}`, admin)).statusCode).toBe(404);
      expect((await call('GET', '/api/v1/api-keys', target)).statusCode).toBe(401);
      expect(await db().session.count({ where: { userId: target.user.id } })).toBe(0);
      const keyRow = await db().apiKey.findUniqueOrThrow({ where: { id: keyId } });
      expect(keyRow.revokedAt).not.toBeNull();
      await eventually(() => revokedSessions.some((event) => event.userId === target.user.id));

      const [entry] = await audits('user.deleted', target.user.id);
      expect(entry?.details).toMatchObject({
        username: target.user.username,
        role: 'pro',
        apiKeysRevoked: 1,
      });

      expect((await call('DELETE', `/api/v1/users/${target.user.id}`, admin)).statusCode).toBe(404);
    });

    it('answers 400 for a malformed id', async () => {
      expect((await call('DELETE', '/api/v1/users/1', admin)).statusCode).toBe(400);
    });
  });
});
