import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';
import { createUser, enableTotp, inject, panelLogin, totpCode } from '../../test/auth-helpers';
import { clientLoginBody } from '../../test/client-login';
import { ManualClock } from '../../test/manual-clock';
import { metricSample } from '../../test/metric-samples';
import { type LoginResult, type LoginSurface } from './login-metrics';

// switchboard_api_logins_total{surface,result} and switchboard_api_lockouts_total{surface}, driven
// through the real login routes of both surfaces: the operator API's and the RustDesk client's.
describe('login metrics', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  const clock = new ManualClock(new Date('2031-06-01T00:00:00Z'));
  let ipCounter = 0;
  /** A network of its own per test, so only the account's ladders are involved. */
  const freshIp = () => `10.60.0.${++ipCounter}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url, LOGIN_ACCOUNT_MAX_FAILURES: '3' }, { clock });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const logins = async (surface: LoginSurface, result: LoginResult) =>
    (await metricSample(app, 'switchboard_api_logins_total', { surface, result })) ?? NaN;
  const lockouts = async (surface: LoginSurface) =>
    (await metricSample(app, 'switchboard_api_lockouts_total', { surface })) ?? NaN;

  /** How much each named series moved while `act` ran. */
  async function changes<K extends string>(
    series: Record<K, () => Promise<number>>,
    act: () => Promise<void>,
  ): Promise<Record<K, number>> {
    const keys = Object.keys(series) as K[];
    const before = await Promise.all(keys.map((key) => series[key]()));
    await act();
    const after = await Promise.all(keys.map((key) => series[key]()));
    return Object.fromEntries(keys.map((key, i) => [key, (after[i] ?? NaN) - (before[i] ?? NaN)])) as Record<
      K,
      number
    >;
  }

  const clientLogin = (payload: Record<string, unknown>, ip: string) =>
    inject(app, {
      method: 'POST',
      url: '/api/login',
      headers: { 'content-type': 'application/json' },
      payload,
      ip,
    });

  it('exports every surface and result at 0 before any login', async () => {
    expect(await logins('client', 'second_factor_failed')).toBe(0);
    expect(await lockouts('client')).toBe(0);
  });

  it('counts console logins: ok, bad credentials, a role refused, and the TOTP steps', async () => {
    const admin = await createUser(app, 'admin');
    const pro = await createUser(app, 'pro');
    const totpUser = await createUser(app, 'operator');
    const { secret } = await enableTotp(app, totpUser, clock);
    const ip = freshIp();
    const moved = await changes(
      {
        ok: () => logins('console', 'ok'),
        bad: () => logins('console', 'bad_credentials'),
        refused: () => logins('console', 'refused'),
        secondRequired: () => logins('console', 'second_factor_required'),
        secondFailed: () => logins('console', 'second_factor_failed'),
        client: () => logins('client', 'ok'),
      },
      async () => {
        expect((await panelLogin(app, admin, ip)).statusCode).toBe(200);
        expect((await panelLogin(app, { ...admin, password: 'wrong' }, ip)).statusCode).toBe(401);
        expect((await panelLogin(app, { username: 'nobody-at-all', password: 'x' }, ip)).statusCode).toBe(
          401,
        );
        expect((await panelLogin(app, pro, ip)).statusCode).toBe(403);

        const first = await panelLogin(app, totpUser, ip);
        expect(first.json()).toMatchObject({ mfaRequired: true });
        const { mfaToken } = first.json<{ mfaToken: string }>();
        const step = (payload: Record<string, string>) =>
          inject(app, { method: 'POST', url: '/api/v1/auth/login/totp', payload, ip, headers: {} });
        const code = await totpCode(secret, clock);
        expect((await step({ mfaToken, code: code === '000000' ? '111111' : '000000' })).statusCode).toBe(
          401,
        );
        expect((await step({ mfaToken: 'not-a-token', code })).statusCode).toBe(401);
        expect((await step({ mfaToken, code })).statusCode).toBe(200);
      },
    );
    expect(moved).toEqual({ ok: 2, bad: 2, refused: 1, secondRequired: 1, secondFailed: 2, client: 0 });
  });

  it('counts a console lockout once, and the locked attempts that follow', async () => {
    const user = await createUser(app, 'viewer');
    const ip = freshIp();
    const moved = await changes(
      {
        lockouts: () => lockouts('console'),
        locked: () => logins('console', 'locked'),
        bad: () => logins('console', 'bad_credentials'),
        clientLockouts: () => lockouts('client'),
      },
      async () => {
        for (let i = 0; i < 3; i++) {
          expect((await panelLogin(app, { ...user, password: 'wrong' }, ip)).statusCode).toBe(401);
        }
        expect((await panelLogin(app, user, ip)).statusCode).toBe(429);
        expect((await panelLogin(app, user, ip)).statusCode).toBe(429);
      },
    );
    expect(moved).toEqual({ lockouts: 1, locked: 2, bad: 3, clientLockouts: 0 });
  });

  it('counts RustDesk client logins on their own surface, lockout included', async () => {
    const user = await createUser(app, 'operator');
    const totpUser = await createUser(app, 'operator');
    await enableTotp(app, totpUser, clock);
    const ip = freshIp();
    const moved = await changes(
      {
        ok: () => logins('client', 'ok'),
        bad: () => logins('client', 'bad_credentials'),
        secondRequired: () => logins('client', 'second_factor_required'),
        locked: () => logins('client', 'locked'),
        lockouts: () => lockouts('client'),
        consoleOk: () => logins('console', 'ok'),
        consoleLockouts: () => lockouts('console'),
      },
      async () => {
        expect((await clientLogin(clientLoginBody(user), ip)).statusCode).toBe(200);
        const second = await clientLogin(clientLoginBody(totpUser), ip);
        expect(second.json()).toMatchObject({ type: 'email_check' });
        for (let i = 0; i < 3; i++) {
          const wrong = await clientLogin(clientLoginBody({ ...user, password: 'wrong' }), ip);
          expect(wrong.statusCode).toBe(401);
        }
        expect((await clientLogin(clientLoginBody(user), ip)).statusCode).toBe(429);
      },
    );
    expect(moved).toEqual({
      ok: 1,
      bad: 3,
      secondRequired: 1,
      locked: 1,
      lockouts: 1,
      consoleOk: 0,
      consoleLockouts: 0,
    });
  });
});
