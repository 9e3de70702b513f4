import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createPrismaClient } from '@switchboard/data-access';
import { decodeClientAccessToken } from '@switchboard/events';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp, TEST_EVENT_SIGNING_KEY } from '../../test/api-test-harness';
import { createUser, enableTotp, inject, totpCode, type TestUser } from '../../test/auth-helpers';
import { clientLogin, clientLoginBody } from '../../test/client-login';
import { ManualClock } from '../../test/manual-clock';
import { sha256 } from '../auth/opaque-token';

// The stock client's sign-in (docs/client-api.md §2.3) against the real app and database: the
// exact bodies of flutter/lib/common/hbbs/hbbs.dart and the answers its parsers accept.
describe('client login', () => {
  const clock = new ManualClock(new Date('2032-05-01T08:00:10Z'));
  let database: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url }, { clock });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const post = (url: string, payload: unknown, token?: string, ip?: string) =>
    inject(app, {
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      payload: payload as Record<string, unknown>,
      ...(ip === undefined ? {} : { remoteAddress: ip }),
    });

  it('answers a password login with access_token and user, and the token opens currentUser', async () => {
    const alice = await createUser(app, 'operator');
    const response = await post('/api/login', clientLoginBody(alice));
    expect(response.statusCode).toBe(200);
    const body = response.json<Record<string, unknown>>();
    expect(body).toEqual({
      type: 'access_token',
      access_token: expect.any(String),
      user: { name: alice.username, display_name: null, email: null, status: 1, is_admin: false, info: {} },
    });

    const current = await post(
      '/api/currentUser',
      { id: '123456789', uuid: 'x' },
      body.access_token as string,
    );
    expect(current.statusCode).toBe(200);
    expect(current.json()).toMatchObject({ name: alice.username, status: 1, is_admin: false });
  });

  it('marks admins with is_admin true', async () => {
    const admin = await createUser(app, 'admin');
    const token = await clientLogin(app, admin);
    expect((await post('/api/currentUser', {}, token)).json()).toMatchObject({ is_admin: true });
  });

  it('keeps only the hash of the token, as a client session with the device it came from', async () => {
    const bob = await createUser(app, 'viewer');
    const token = await clientLogin(app, { ...bob, id: '987654321', ip: '192.0.2.44' });
    const prisma = createPrismaClient(database.url);
    try {
      const rows = await prisma.session.findMany({ where: { userId: bob.user.id } });
      expect(rows).toHaveLength(1);
      expect(Buffer.from(rows[0]!.tokenHash).equals(sha256(token))).toBe(true);
      expect(JSON.stringify(rows)).not.toContain(token);
      expect(rows[0]).toMatchObject({
        kind: 'client',
        clientId: '987654321',
        clientOs: 'linux',
        ip: '192.0.2.44',
      });
    } finally {
      await prisma.$disconnect();
    }
  });

  it('signs the token so signal can tell the user without the database', async () => {
    const carol = await createUser(app, 'viewer');
    const token = await clientLogin(app, carol);
    const claims = decodeClientAccessToken(token, TEST_EVENT_SIGNING_KEY.verifyKey, clock.now().getTime());
    expect(claims).toMatchObject({ userId: carol.user.id, username: carol.username });
  });

  it('refuses a wrong password with {error}, the same for an unknown user', async () => {
    const dave = await createUser(app, 'viewer');
    const wrong = await post(
      '/api/login',
      clientLoginBody({ username: dave.username, password: 'nope' }),
      undefined,
      '198.51.100.1',
    );
    const unknown = await post(
      '/api/login',
      clientLoginBody({ username: 'nobody-here', password: 'nope' }),
      undefined,
      '198.51.100.2',
    );
    for (const response of [wrong, unknown]) {
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ error: 'Invalid username or password' });
    }
  });

  it('locks an account out with the operator login ladder (429, Retry-After)', async () => {
    const erin = await createUser(app, 'viewer');
    let last = await post(
      '/api/login',
      clientLoginBody({ username: erin.username, password: 'bad' }),
      undefined,
      '203.0.113.9',
    );
    for (let attempt = 0; attempt < 12 && last.statusCode !== 429; attempt++) {
      last = await post(
        '/api/login',
        clientLoginBody({ username: erin.username, password: 'bad' }),
        undefined,
        '203.0.113.9',
      );
    }
    expect(last.statusCode).toBe(429);
    expect(last.headers['retry-after']).toBeDefined();
    expect(last.json()).toEqual({ error: expect.any(String) });
    // Even the right password waits out the lockout from that network.
    const right = await post('/api/login', clientLoginBody(erin), undefined, '203.0.113.9');
    expect(right.statusCode).toBe(429);
  });

  it('asks a TOTP user for the code in the email_check / tfa_check shape, with user, then logs in once', async () => {
    const frank = await createUser(app, 'viewer');
    const { secret } = await enableTotp(app, frank, clock);
    const first = await post('/api/login', clientLoginBody(frank));
    expect(first.statusCode).toBe(200);
    const step = first.json<Record<string, unknown>>();
    expect(step).toEqual({
      type: 'email_check',
      tfa_type: 'tfa_check',
      secret: expect.any(String),
      user: expect.objectContaining({ name: frank.username }),
    });
    expect(step).not.toHaveProperty('access_token');

    const code = await totpCode(secret, clock);
    const second = {
      username: frank.username,
      verificationCode: code,
      tfaCode: code,
      secret: step.secret,
      id: '123456789',
      uuid: 'dXVpZA==',
      autoLogin: true,
      type: 'email_code',
      deviceInfo: { os: 'windows', type: 'client', name: 'pc' },
    };
    const done = await post('/api/login', second);
    expect(done.statusCode).toBe(200);
    expect(done.json()).toEqual({
      type: 'access_token',
      access_token: expect.any(String),
      user: expect.objectContaining({ name: frank.username }),
    });

    // The same code again (a replay), even with a fresh password step, is refused.
    const again = await post('/api/login', clientLoginBody(frank));
    const replay = await post('/api/login', { ...second, secret: again.json<{ secret: string }>().secret });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toEqual({ error: 'Invalid code' });
  });

  it('refuses a made-up secret in the second step', async () => {
    const response = await post('/api/login', {
      username: 'x',
      verificationCode: '123456',
      tfaCode: '123456',
      secret: 'not-a-token',
      type: 'email_code',
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: expect.any(String) });
  });

  it('refuses a user whose password someone else set until it is changed in the console', async () => {
    const gina = await createUser(app, 'viewer', { passwordMustChange: true });
    const response = await post('/api/login', clientLoginBody(gina));
    expect(response.statusCode).toBe(403);
    expect(response.json<{ error: string }>().error).toContain('web console');
  });

  it('lists the client login among the user’s sessions, and revoking it there makes the next call 401', async () => {
    const hank: TestUser = await createUser(app, 'admin');
    const token = await clientLogin(app, { ...hank, id: '555000111' });
    const operator = await inject(app, {
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: { username: hank.username, password: hank.password },
    });
    const authorization = `Bearer ${operator.json<{ accessToken: string }>().accessToken}`;
    const list = await inject(app, {
      method: 'GET',
      url: '/api/v1/auth/sessions',
      headers: { authorization },
    });
    const sessions = list.json<{ sessions: { id: string; kind: string; client: { id: string } | null }[] }>()
      .sessions;
    const client = sessions.find((session) => session.kind === 'client');
    expect(client?.client?.id).toBe('555000111');

    const revoke = await inject(app, {
      method: 'DELETE',
      url: `/api/v1/auth/sessions/${client?.id}`,
      headers: { authorization },
    });
    expect(revoke.statusCode).toBe(204);
    const after = await post('/api/currentUser', {}, token);
    expect(after.statusCode).toBe(401);
    expect(after.json()).toEqual({ error: 'Invalid token' });
  });

  it('lets an admin list and end another user’s client login (audited)', async () => {
    const kim = await createUser(app, 'viewer');
    const token = await clientLogin(app, { ...kim, id: '246813579' });
    const admin = await createUser(app, 'admin');
    const operator = await inject(app, {
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: { username: admin.username, password: admin.password },
    });
    const authorization = `Bearer ${operator.json<{ accessToken: string }>().accessToken}`;
    const list = await inject(app, {
      method: 'GET',
      url: `/api/v1/users/${kim.user.id}/sessions`,
      headers: { authorization },
    });
    expect(list.statusCode).toBe(200);
    const [session] = list.json<{ sessions: { id: string; kind: string; client: { id: string } }[] }>()
      .sessions;
    expect(session).toMatchObject({ kind: 'client', client: { id: '246813579' } });

    const end = await inject(app, {
      method: 'DELETE',
      url: `/api/v1/users/${kim.user.id}/sessions/${session?.id}`,
      headers: { authorization },
    });
    expect(end.statusCode).toBe(204);
    expect((await post('/api/currentUser', {}, token)).statusCode).toBe(401);
    const again = await inject(app, {
      method: 'DELETE',
      url: `/api/v1/users/${kim.user.id}/sessions/${session?.id}`,
      headers: { authorization },
    });
    expect(again.statusCode).toBe(404);
    const prisma = createPrismaClient(database.url);
    try {
      const entries = await prisma.auditEntry.findMany({
        where: { action: 'user.session_revoked', targetId: kim.user.id },
      });
      expect(entries).toHaveLength(1);
    } finally {
      await prisma.$disconnect();
    }
  });

  it('logs out: the token is dead afterwards and the logout is audited with the device id', async () => {
    const ivy = await createUser(app, 'viewer');
    const token = await clientLogin(app, { ...ivy, id: '777888999' });
    const out = await post('/api/logout', { id: '777888999', uuid: 'x' }, token);
    expect(out.statusCode).toBe(200);
    expect((await post('/api/currentUser', {}, token)).statusCode).toBe(401);
    const prisma = createPrismaClient(database.url);
    try {
      const entries = await prisma.auditEntry.findMany({
        where: { action: 'auth.logout', actorId: ivy.user.id },
      });
      expect(entries).toHaveLength(1);
      expect(entries[0]?.details).toMatchObject({ channel: 'client', clientId: '777888999' });
    } finally {
      await prisma.$disconnect();
    }
  });

  it('answers 401 {error: "Invalid token"} for a missing, forged or browser-session token', async () => {
    expect((await post('/api/currentUser', {})).json()).toEqual({ error: 'Invalid token' });
    const forged = await post('/api/currentUser', {}, 'sbc1.e30.AAAA');
    expect(forged.statusCode).toBe(401);
    expect(forged.json()).toEqual({ error: 'Invalid token' });
    // Claims that name no real user id (the api reads them unsigned as a hint only).
    for (const user of ['not-a-uuid', "x'; select 1; --", '00000000-0000-0000-0000-000000000000']) {
      const claims = Buffer.from(JSON.stringify({ s: user, u: user, n: 'admin', e: 9e15, r: 'x' })).toString(
        'base64url',
      );
      const made = await post('/api/currentUser', {}, `sbc1.${claims}.AAAA`);
      expect(made.statusCode).toBe(401);
      expect(made.json()).toEqual({ error: 'Invalid token' });
    }
    // A real user's id in made-up claims opens nothing either.
    const real = await createUser(app, 'admin');
    const claims = Buffer.from(
      JSON.stringify({ s: real.user.id, u: real.user.id, n: real.username, e: 9e15, r: 'x' }),
    ).toString('base64url');
    expect((await post('/api/currentUser', {}, `sbc1.${claims}.AAAA`)).statusCode).toBe(401);
  });

  it('refuses a disabled user’s token at once', async () => {
    const jack = await createUser(app, 'viewer');
    const token = await clientLogin(app, jack);
    const admin = await createUser(app, 'admin');
    const operator = await inject(app, {
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: { username: admin.username, password: admin.password },
    });
    const disable = await inject(app, {
      method: 'POST',
      url: `/api/v1/users/${jack.user.id}/disable`,
      headers: { authorization: `Bearer ${operator.json<{ accessToken: string }>().accessToken}` },
    });
    expect(disable.statusCode).toBeLessThan(300);
    expect((await post('/api/currentUser', {}, token)).statusCode).toBe(401);
  });

  it('survives bad input with {error}: wrong types, malformed JSON, unsupported types', async () => {
    const wrongTypes = await post('/api/login', { username: 5, password: ['x'] });
    expect(wrongTypes.statusCode).toBe(400);
    expect(wrongTypes.json()).toEqual({ error: expect.any(String) });
    const malformed = await inject(app, {
      method: 'POST',
      url: '/api/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toEqual({ error: expect.any(String) });
    const sms = await post('/api/login', { username: 'a', type: 'sms_code' });
    expect(sms.statusCode).toBe(400);
    const empty = await post('/api/login', {});
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toEqual({ error: 'Username and password are required' });
  });
});
