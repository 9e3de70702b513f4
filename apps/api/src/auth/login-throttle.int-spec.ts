import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';
import { createUser, enableTotp, inject, type TestUser, totpCode } from '../../test/auth-helpers';
import { ManualClock } from '../../test/manual-clock';
import { AuditLog } from '../audit/audit-log';
import { LoginThrottle } from './login-throttle';

// The backoff ladders on the api's clock: every rung (10 s, 1 min, 5 min, 30 min, 2 h) per (account,
// network) and per network, each apart from the other; the account-wide ladder refuses only networks
// that have failed against the account; a success resets the account's ladders only; TOTP failures count.

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
        LOGIN_IP_MAX_FAILURES: '10',
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
  const totpStep = (mfaToken: string, code: string, ip: string) =>
    inject(app, { method: 'POST', url: '/api/v1/auth/token/totp', payload: { mfaToken, code }, ip });
  const wrongCode = async (secret: string) =>
    (await totpCode(secret, clock)) === '000000' ? '111111' : '000000';
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

  it('per account and network: 5 failures from one network lock it out of that account on every rung', async () => {
    const user = await createUser(app, 'operator');
    const other = await createUser(app, 'operator');
    const ip = freshIp();
    for (let i = 0; i < 5; i += 1) await fail(user.username, ip);
    await expectLocked(user, ip, 10);
    // The lock is that network's for that account: another account from it, the account from elsewhere.
    expect((await login(other.username, other.password, ip)).statusCode).toBe(200);
    expect((await login(user.username, user.password, freshIp())).statusCode).toBe(200);

    for (const [rung, seconds] of LADDER.entries()) {
      if (rung > 0) {
        // One failure after the previous lock ended is enough to climb.
        await fail(user.username, ip);
        await expectLocked(user, ip, seconds);
      }
      clock.advanceSeconds(seconds - 1);
      await expectLocked(user, ip, 1);
      clock.advanceSeconds(1);
    }
    // The top rung repeats.
    await fail(user.username, ip);
    await expectLocked(user, ip, 7200);
    clock.advanceSeconds(7200);

    const rungs = (await throttledAudit())
      .filter((details) => details['username'] === user.username && details['scope'] === 'account_network')
      .map((details) => [details['rung'], details['lockSeconds']]);
    expect(rungs).toEqual([...LADDER.map((seconds, rung) => [rung, seconds]), [4, 7200]]);
  });

  it('per account and network: a success from that network resets its ladder', async () => {
    const user = await createUser(app, 'operator');
    const ip = freshIp();
    for (let i = 0; i < 4; i += 1) await fail(user.username, ip);
    expect((await login(user.username, user.password, ip)).statusCode).toBe(200);
    // It takes 5 failures again to lock it.
    for (let i = 0; i < 4; i += 1) await fail(user.username, ip);
    expect((await login(user.username, user.password, ip)).statusCode).toBe(200);
  });

  // Issue 10 item 8: a dozen requests a day from anywhere used to keep any account locked.
  it('account-wide: failures from many networks never lock the owner out of a network that has not failed', async () => {
    const user = await createUser(app, 'admin');
    const attackers = Array.from({ length: 5 }, freshIp);
    for (const ip of attackers) await fail(user.username, ip);
    // Alerted: the account as a whole is under attack.
    const alerts = (await throttledAudit()).filter(
      (details) => details['username'] === user.username && details['scope'] === 'account',
    );
    expect(alerts.map((details) => [details['rung'], details['lockSeconds']])).toEqual([[0, 10]]);
    // Slowed: every network that has failed against the account waits out the account's lock ...
    for (const ip of attackers) await expectLocked(user, ip, 10);
    // ... and a new network that fails joins them (the account's ladder climbs a rung).
    const guesser = freshIp();
    await fail(user.username, guesser);
    await expectLocked(user, guesser, 60);
    await expectLocked(user, attackers[0] ?? '', 60);
    // The owner, from a network that has not failed, gets in with the right password.
    expect((await login(user.username, user.password, freshIp())).statusCode).toBe(200);
  });

  it('per account and network: other accounts and an unknown name lock independently; unknown names lock like real ones', async () => {
    const locked = await createUser(app, 'operator');
    const other = await createUser(app, 'operator');
    const ip = freshIp();
    for (let i = 0; i < 5; i += 1) await fail(locked.username, ip);
    await expectLocked(locked, ip, 10);
    expect((await login(other.username, other.password, freshIp())).statusCode).toBe(200);

    const ghostIp = freshIp();
    for (let i = 0; i < 5; i += 1) await fail('no-such-user', ghostIp);
    const ghost = await login('no-such-user', 'anything at all', ghostIp);
    expect(ghost.statusCode).toBe(429);
    expect(ghost.headers['retry-after']).toBe('10');
    clock.advanceSeconds(10);
  });

  it('per account: failures spread wider than the 15-minute window do not lock', async () => {
    const user = await createUser(app, 'viewer');
    const ip = freshIp();
    for (let i = 0; i < 4; i += 1) await fail(user.username, ip);
    clock.advanceSeconds(15 * 60 + 1);
    for (let i = 0; i < 4; i += 1) await fail(user.username, ip);
    expect((await login(user.username, user.password, ip)).statusCode).toBe(200);
  });

  it('per account: a ladder quiet for a day is forgotten', async () => {
    const user = await createUser(app, 'viewer');
    const ip = freshIp();
    for (let i = 0; i < 5; i += 1) await fail(user.username, ip);
    clock.advanceSeconds(86_400 + 11);
    // Had the ladder been remembered, this failure would lock for a minute.
    await fail(user.username, ip);
    expect((await login(user.username, user.password, ip)).statusCode).toBe(200);
  });

  it('per IP: 10 failures across different names lock the address on every rung; other IPs are untouched', async () => {
    const ip = '192.0.2.10';
    const user = await createUser(app, 'admin');
    let name = 0;
    const spray = () => fail(`sprayed-${++name}`, ip);
    for (let i = 0; i < 10; i += 1) await spray();
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
    for (let i = 0; i < 10; i += 1) await fail(`spray-b-${i}`, ip);
    await expectLocked(user, ip, 10);
    clock.advanceSeconds(10);
    expect((await login(user.username, user.password, ip)).statusCode).toBe(200);
    await fail('spray-b-next', ip);
    await expectLocked(user, ip, 60);
    clock.advanceSeconds(60);
  });

  it('TOTP failures count as password failures and lock that network out of the password step too', async () => {
    const user = await createUser(app, 'admin');
    const { secret } = await enableTotp(app, user, clock);
    const ip = freshIp();
    const mfa = await login(user.username, user.password, ip);
    expect(mfa.statusCode).toBe(200);
    const { mfaToken } = mfa.json<{ mfaToken: string }>();
    const wrong = await wrongCode(secret);
    for (let i = 0; i < 5; i += 1) expect((await totpStep(mfaToken, wrong, ip)).statusCode).toBe(401);
    // Locked: even the right code is not checked, and the password step is refused as well.
    const right = await totpStep(mfaToken, await totpCode(secret, clock), ip);
    expect(right.statusCode).toBe(429);
    expect(right.headers['retry-after']).toBe('10');
    await expectLocked(user, ip, 10);

    const failures = await app.get(AuditLog).repository.list({ action: 'auth.totp_failed', limit: 50 });
    expect(failures.entries.filter((entry) => entry.actorId === user.user.id)).toHaveLength(5);
    clock.advanceSeconds(10);
  });

  // Issue 10 item 22: the second factor shares the ladders, and still lets the owner in.
  it('wrong codes from many networks do not keep the right password and code out of a network that has not failed', async () => {
    const user = await createUser(app, 'admin');
    const { secret } = await enableTotp(app, user, clock);
    const wrong = await wrongCode(secret);
    const attackers = Array.from({ length: 5 }, freshIp);
    for (const ip of attackers) {
      const mfa = await login(user.username, user.password, ip);
      expect((await totpStep(mfa.json<{ mfaToken: string }>().mfaToken, wrong, ip)).statusCode).toBe(401);
    }
    const attacked = await login(user.username, user.password, attackers[0] ?? '');
    expect(attacked.statusCode).toBe(429);

    const owner = freshIp();
    const mfa = await login(user.username, user.password, owner);
    expect(mfa.statusCode).toBe(200);
    const done = await totpStep(
      mfa.json<{ mfaToken: string }>().mfaToken,
      await totpCode(secret, clock),
      owner,
    );
    expect(done.statusCode).toBe(200);
    clock.advanceSeconds(30);
  });

  it('a correct password of a TOTP user does not reset the ladder; only the finished login does', async () => {
    const user = await createUser(app, 'admin');
    const { secret } = await enableTotp(app, user, clock);
    const ip = freshIp();
    for (let i = 0; i < 4; i += 1) await fail(user.username, ip);
    const mfa = await login(user.username, user.password, ip);
    expect(mfa.json().mfaRequired).toBe(true);
    await fail(user.username, ip); // the 5th failure since the last finished login
    await expectLocked(user, ip, 10);
    clock.advanceSeconds(10);

    const again = await login(user.username, user.password, ip);
    const done = await totpStep(
      again.json<{ mfaToken: string }>().mfaToken,
      await totpCode(secret, clock),
      ip,
    );
    expect(done.statusCode).toBe(200);
    for (let i = 0; i < 4; i += 1) await fail(user.username, ip);
    expect((await login(user.username, user.password, ip)).statusCode).toBe(200);
    clock.advanceSeconds(30);
  });

  it('two attempts for one account from one network at once: the second is told to retry', async () => {
    const user = await createUser(app, 'viewer');
    const ip = freshIp();
    const [first, second] = await Promise.all([
      login(user.username, user.password, ip),
      login(user.username, user.password, ip),
    ]);
    expect([first.statusCode, second.statusCode].sort()).toEqual([200, 429]);
    const refused = first.statusCode === 429 ? first : second;
    expect(refused.headers['retry-after']).toBe('1');
    // From two networks at once, neither waits: nobody can keep an account busy from elsewhere.
    const both = await Promise.all([
      login(user.username, user.password, freshIp()),
      login(user.username, user.password, freshIp()),
    ]);
    expect(both.map((response) => response.statusCode)).toEqual([200, 200]);
  });

  // Issue 10 item 12 (login ladder): one IPv6 customer holds a whole /64.
  it('per IP: IPv6 addresses of one /64 share a ladder; another /64 does not', async () => {
    const user = await createUser(app, 'admin');
    for (let i = 1; i <= 10; i += 1) await fail(`v6-spray-${i}`, `2001:db8:10:20::${i.toString(16)}`);
    await expectLocked(user, '2001:db8:10:20:ffff:1:2:3', 10);
    expect((await login(user.username, user.password, '2001:db8:10:21::1')).statusCode).toBe(200);
    clock.advanceSeconds(10);
  });

  it('clearAccountLadders forgets the account-wide and every per-network ladder of that account', async () => {
    const user = await createUser(app, 'admin');
    const ip = freshIp();
    for (let i = 0; i < 5; i += 1) await fail(user.username, ip);
    await fail(user.username, freshIp());
    await expectLocked(user, ip, 60);
    expect(await app.get(LoginThrottle).clearAccountLadders(user.username)).toBe(3);
    expect((await login(user.username, user.password, ip)).statusCode).toBe(200);
  });
});
