import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';
import { createUser, enableTotp, inject, type TestUser, totpCode } from '../../test/auth-helpers';
import { ManualClock } from '../../test/manual-clock';
import { AuditLog } from '../audit/audit-log';

// The backoff ladder on the api's clock: every rung (10 s, 1 min, 5 min, 30 min, 2 h) per account and
// per IP, each apart from the other; a success resets the account's ladder only; TOTP failures count.

const LADDER = [10, 60, 300, 1800, 7200];

describe('login backoff ladder', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  const clock = new ManualClock(new Date('2031-06-01T00:00:00Z'));
  let ipCounter = 0;
  /** A fresh client address, so the IP ladder stays out of per-account tests. */
  const freshIp = () => `10.50.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp(
      {
        DATABASE_URL: database.url,
        REDIS_KEY_PREFIX: `test-throttle-${process.pid}-${Date.now()}`,
        LOGIN_IP_MAX_FAILURES: '5',
      },
      { clock },
    );
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const login = (username: string, password: string, ip: string) =>
    inject(app, { method: 'POST', url: '/api/v1/auth/token', payload: { username, password }, ip });
  const fail = async (username: string, ip: string) => {
    const response = await login(username, 'wrong password', ip);
    expect(response.statusCode).toBe(401);
  };
  const expectLocked = async (user: TestUser, ip: string, retryAfter: number) => {
    // The right password makes no difference while locked: it is not even looked at.
    const response = await login(user.username, user.password, ip);
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe(String(retryAfter));
    expect(response.json().message).toBe('Too many failed login attempts; try again later');
  };

  async function throttledAudit(): Promise<Array<Record<string, unknown>>> {
    const page = await app.get(AuditLog).repository.list({ action: 'auth.login_throttled', limit: 500 });
    // Oldest first, the order they were imposed in.
    return page.entries
      .sort((a, b) => Number(a.seq - b.seq))
      .map((entry) => entry.details as Record<string, unknown>);
  }

  it('per account: 5 failures lock for 10 s, then each further failure climbs 1 min, 5 min, 30 min, 2 h', async () => {
    const user = await createUser(app, 'operator');
    for (let i = 0; i < 5; i += 1) await fail(user.username, freshIp());
    await expectLocked(user, freshIp(), 10);

    for (const [rung, seconds] of LADDER.entries()) {
      if (rung > 0) {
        // One failure after the previous lock ended is enough to climb.
        await fail(user.username, freshIp());
        await expectLocked(user, freshIp(), seconds);
      }
      clock.advanceSeconds(seconds - 1);
      await expectLocked(user, freshIp(), 1);
      clock.advanceSeconds(1);
    }
    // The top rung repeats.
    await fail(user.username, freshIp());
    await expectLocked(user, freshIp(), 7200);
    clock.advanceSeconds(7200);

    const rungs = (await throttledAudit())
      .filter((details) => details['username'] === user.username && details['scope'] === 'account')
      .map((details) => [details['rung'], details['lockSeconds']]);
    expect(rungs).toEqual([...LADDER.map((seconds, rung) => [rung, seconds]), [4, 7200]]);

    // A success resets the account's ladder: it takes 5 failures again to lock it.
    expect((await login(user.username, user.password, freshIp())).statusCode).toBe(200);
    for (let i = 0; i < 4; i += 1) await fail(user.username, freshIp());
    expect((await login(user.username, user.password, freshIp())).statusCode).toBe(200);
  });

  it('per account: other accounts and an unknown name lock independently; unknown names lock like real ones', async () => {
    const locked = await createUser(app, 'operator');
    const other = await createUser(app, 'operator');
    for (let i = 0; i < 5; i += 1) await fail(locked.username, freshIp());
    await expectLocked(locked, freshIp(), 10);
    expect((await login(other.username, other.password, freshIp())).statusCode).toBe(200);

    for (let i = 0; i < 5; i += 1) await fail('no-such-user', freshIp());
    const ghost = await login('no-such-user', 'anything at all', freshIp());
    expect(ghost.statusCode).toBe(429);
    expect(ghost.headers['retry-after']).toBe('10');
    clock.advanceSeconds(10);
  });

  it('per account: failures spread wider than the 15-minute window do not lock', async () => {
    const user = await createUser(app, 'viewer');
    for (let i = 0; i < 4; i += 1) await fail(user.username, freshIp());
    clock.advanceSeconds(15 * 60 + 1);
    for (let i = 0; i < 4; i += 1) await fail(user.username, freshIp());
    expect((await login(user.username, user.password, freshIp())).statusCode).toBe(200);
  });

  it('per account: a ladder quiet for a day is forgotten', async () => {
    const user = await createUser(app, 'viewer');
    for (let i = 0; i < 5; i += 1) await fail(user.username, freshIp());
    clock.advanceSeconds(86_400 + 11);
    // Had the ladder been remembered, this failure would lock for a minute.
    await fail(user.username, freshIp());
    expect((await login(user.username, user.password, freshIp())).statusCode).toBe(200);
  });

  it('per IP: 5 failures across different names lock the address on every rung; other IPs are untouched', async () => {
    const ip = '192.0.2.10';
    const user = await createUser(app, 'admin');
    let name = 0;
    const spray = () => fail(`sprayed-${++name}`, ip);
    for (let i = 0; i < 5; i += 1) await spray();
    await expectLocked(user, ip, 10);
    // The same names from elsewhere are not locked: the accounts' ladders each saw one failure.
    expect((await login('sprayed-1', 'wrong password', '192.0.2.11')).statusCode).toBe(401);
    expect((await login(user.username, user.password, '192.0.2.11')).statusCode).toBe(200);

    for (const [rung, seconds] of LADDER.entries()) {
      if (rung > 0) {
        await spray();
        await expectLocked(user, ip, seconds);
      }
      clock.advanceSeconds(seconds - 1);
      await expectLocked(user, ip, 1);
      clock.advanceSeconds(1);
    }
    const rungs = (await throttledAudit())
      // Unknown names are audited as a digest, never as typed.
      .filter((details) => details['scope'] === 'ip' && typeof details['usernameDigest'] === 'string')
      .map((details) => details['rung']);
    expect(rungs).toEqual([0, 1, 2, 3, 4]);
  });

  it('per IP: a success does not reset the address ladder (one good account must not clear a spray)', async () => {
    const ip = '192.0.2.20';
    const user = await createUser(app, 'admin');
    for (let i = 0; i < 5; i += 1) await fail(`spray-b-${i}`, ip);
    await expectLocked(user, ip, 10);
    clock.advanceSeconds(10);
    expect((await login(user.username, user.password, ip)).statusCode).toBe(200);
    await fail('spray-b-next', ip);
    await expectLocked(user, ip, 60);
    clock.advanceSeconds(60);
  });

  it('TOTP failures count as password failures and lock the password step too', async () => {
    const user = await createUser(app, 'admin');
    const { secret } = await enableTotp(app, user, clock);
    const ip = freshIp();
    const mfa = await login(user.username, user.password, ip);
    expect(mfa.statusCode).toBe(200);
    const { mfaToken } = mfa.json<{ mfaToken: string }>();
    const wrong = (await totpCode(secret, clock)) === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i += 1) {
      const response = await inject(app, {
        method: 'POST',
        url: '/api/v1/auth/token/totp',
        payload: { mfaToken, code: wrong },
        ip: freshIp(),
      });
      expect(response.statusCode).toBe(401);
    }
    // Locked: even the right code is not checked, and the password step is refused as well.
    const right = await inject(app, {
      method: 'POST',
      url: '/api/v1/auth/token/totp',
      payload: { mfaToken, code: await totpCode(secret, clock) },
      ip: freshIp(),
    });
    expect(right.statusCode).toBe(429);
    expect(right.headers['retry-after']).toBe('10');
    await expectLocked(user, freshIp(), 10);

    const failures = await app.get(AuditLog).repository.list({ action: 'auth.totp_failed', limit: 50 });
    expect(failures.entries.filter((entry) => entry.actorId === user.user.id)).toHaveLength(5);
    clock.advanceSeconds(10);
  });

  it('a correct password of a TOTP user does not reset the ladder; only the finished login does', async () => {
    const user = await createUser(app, 'admin');
    const { secret } = await enableTotp(app, user, clock);
    for (let i = 0; i < 4; i += 1) await fail(user.username, freshIp());
    const mfa = await login(user.username, user.password, freshIp());
    expect(mfa.json().mfaRequired).toBe(true);
    await fail(user.username, freshIp()); // the 5th failure since the last finished login
    await expectLocked(user, freshIp(), 10);
    clock.advanceSeconds(10);

    const again = await login(user.username, user.password, freshIp());
    const done = await inject(app, {
      method: 'POST',
      url: '/api/v1/auth/token/totp',
      payload: { mfaToken: again.json().mfaToken, code: await totpCode(secret, clock) },
      ip: freshIp(),
    });
    expect(done.statusCode).toBe(200);
    for (let i = 0; i < 4; i += 1) await fail(user.username, freshIp());
    expect((await login(user.username, user.password, freshIp())).statusCode).toBe(200);
  });

  it('two attempts for one account at once: the second is told to retry', async () => {
    const user = await createUser(app, 'viewer');
    const [first, second] = await Promise.all([
      login(user.username, user.password, freshIp()),
      login(user.username, user.password, freshIp()),
    ]);
    expect([first.statusCode, second.statusCode].sort()).toEqual([200, 429]);
    const refused = first.statusCode === 429 ? first : second;
    expect(refused.headers['retry-after']).toBe('1');
  });
});
