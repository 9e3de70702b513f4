import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { UserCredentialRepository, UserRepository } from '@switchboard/data-access';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';
import {
  browserSessionOf,
  createUser,
  enableTotp,
  inject,
  ORIGIN,
  type TestUser,
  totpCode,
} from '../../test/auth-helpers';
import { ManualClock } from '../../test/manual-clock';
import { AuditLog } from '../audit/audit-log';
import { DatabaseConnection } from '../database/database.connection';
import { RecoveryCodeRekeying } from './recovery-code-rekeying';
import { RecoveryCodeDigests, unkeyedRecoveryCodeDigest } from './recovery-codes';
import { SecretBox } from './secret-box';

describe('TOTP two-factor authentication', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  const clock = new ManualClock(new Date('2032-03-01T12:00:10Z'));
  let ipCounter = 0;
  const freshIp = () => `10.60.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp(
      { DATABASE_URL: database.url, REDIS_KEY_PREFIX: `test-totp-${process.pid}-${Date.now()}` },
      { clock },
    );
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    inject(app, { method: 'POST', url, payload, headers, ip: freshIp() });
  const bearerFor = async (user: TestUser): Promise<string> => {
    const response = await post('/api/v1/auth/token', { username: user.username, password: user.password });
    expect(response.statusCode).toBe(200);
    return `Bearer ${response.json<{ accessToken: string }>().accessToken}`;
  };
  const mfaTokenFor = async (user: TestUser, url = '/api/v1/auth/token'): Promise<string> => {
    const response = await post(url, { username: user.username, password: user.password });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ mfaRequired: boolean; mfaToken: string }>();
    expect(body.mfaRequired).toBe(true);
    expect(response.headers['set-cookie']).toBeUndefined();
    return body.mfaToken;
  };
  const actions = async (userId: string): Promise<string[]> =>
    (await app.get(AuditLog).repository.list({ actorId: userId, limit: 500 })).entries.map(
      (entry) => entry.action,
    );

  describe('enrolment', () => {
    it('enroll returns a base32 secret and a QR-ready otpauth URI, sealed at rest, not yet active', async () => {
      const user = await createUser(app, 'operator');
      const authorization = await bearerFor(user);
      const response = await post('/api/v1/auth/totp/enroll', { password: user.password }, { authorization });
      expect(response.statusCode).toBe(200);
      const { secret, otpauthUri } = response.json<{ secret: string; otpauthUri: string }>();
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(otpauthUri).toBe(
        `otpauth://totp/Switchboard:${user.username}?secret=${secret}&issuer=Switchboard`,
      );

      const state = await app.get(UserCredentialRepository).findTotpState(user.user.id);
      expect(state?.enabled).toBe(false);
      expect(state?.sealedSecret?.toString('latin1')).not.toContain(secret);
      expect(app.get(SecretBox).open(state?.sealedSecret ?? Buffer.alloc(0), user.user.id)).toBe(secret);
      // Bound to its owner: the same bytes do not open as another user's secret.
      expect(() => app.get(SecretBox).open(state?.sealedSecret ?? Buffer.alloc(0), 'someone-else')).toThrow();

      // Still a one-step login until confirmed.
      const login = await post('/api/v1/auth/token', { username: user.username, password: user.password });
      expect(login.json()).toHaveProperty('accessToken');
      expect(await actions(user.user.id)).toContain('auth.totp_enrollment_started');
    });

    it('confirm needs an enrolment (409), a matching code (400), then returns 10 single-use recovery codes', async () => {
      const user = await createUser(app, 'operator');
      const authorization = await bearerFor(user);
      const early = await post('/api/v1/auth/totp/confirm', { code: '123456' }, { authorization });
      expect(early.statusCode).toBe(409);

      const enrolment = await post(
        '/api/v1/auth/totp/enroll',
        { password: user.password },
        { authorization },
      );
      const { secret } = enrolment.json<{
        secret: string;
      }>();
      const code = await totpCode(secret, clock);
      const wrong = await post(
        '/api/v1/auth/totp/confirm',
        { code: code === '000000' ? '000001' : '000000' },
        { authorization },
      );
      expect(wrong.statusCode).toBe(400);
      const malformed = await post('/api/v1/auth/totp/confirm', { code: '12ab56' }, { authorization });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json().message).toEqual(['code: must be the 6-digit code from the authenticator app']);

      const confirmed = await post('/api/v1/auth/totp/confirm', { code }, { authorization });
      expect(confirmed.statusCode).toBe(200);
      const { recoveryCodes } = confirmed.json<{ recoveryCodes: string[] }>();
      expect(recoveryCodes).toHaveLength(10);
      expect(new Set(recoveryCodes).size).toBe(10);
      for (const item of recoveryCodes) expect(item).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
      expect((await app.get(UserRepository).findById(user.user.id))?.totpEnabled).toBe(true);
      expect(await actions(user.user.id)).toContain('auth.totp_enabled');

      // Issue 10 item 27: stored as HMACs under a server key only, never a bare SHA-256.
      const rows = await app
        .get(DatabaseConnection)
        .client.recoveryCode.findMany({ where: { userId: user.user.id } });
      const stored = recoveryCodes.map((item) => app.get(RecoveryCodeDigests).stored(item));
      expect(rows.map((row) => [Buffer.from(row.codeHash).toString('hex'), row.keyId]).sort()).toEqual(
        stored.map((item) => [item.codeHash.toString('hex'), 'k1']).sort(),
      );
      const bare = new Set(recoveryCodes.map((item) => unkeyedRecoveryCodeDigest(item).toString('hex')));
      for (const row of rows) expect(bare.has(Buffer.from(row.codeHash).toString('hex'))).toBe(false);

      expect(
        (await post('/api/v1/auth/totp/enroll', { password: user.password }, { authorization })).statusCode,
      ).toBe(409);
      expect((await post('/api/v1/auth/totp/confirm', { code }, { authorization })).statusCode).toBe(409);
    });

    it('enrol needs the current password: a stolen token alone gets 400 or 403 and stores nothing', async () => {
      const user = await createUser(app, 'admin');
      const authorization = await bearerFor(user);
      const missing = await post('/api/v1/auth/totp/enroll', {}, { authorization });
      expect(missing.statusCode).toBe(400);
      expect(missing.json().message).toEqual([
        'password: Invalid input: expected string, received undefined',
      ]);
      const wrong = await post(
        '/api/v1/auth/totp/enroll',
        { password: 'not the password' },
        { authorization },
      );
      expect(wrong.statusCode).toBe(403);
      const state = await app.get(UserCredentialRepository).findTotpState(user.user.id);
      expect(state?.sealedSecret).toBeNull();
      const recorded = await actions(user.user.id);
      expect(recorded).toContain('auth.login_failed');
      expect(recorded).not.toContain('auth.totp_enrollment_started');
    });

    it('without a credential the 2FA routes are 401', async () => {
      for (const url of [
        '/api/v1/auth/totp/enroll',
        '/api/v1/auth/totp/confirm',
        '/api/v1/auth/totp/disable',
        '/api/v1/auth/recovery-codes',
      ]) {
        expect((await post(url, { code: '123456', password: 'x' })).statusCode).toBe(401);
      }
    });
  });

  describe('login with a second factor', () => {
    let user: TestUser;
    let secret: string;
    let recoveryCodes: string[];

    beforeAll(async () => {
      user = await createUser(app, 'admin');
      ({ secret, recoveryCodes } = await enableTotp(app, user, clock));
    });

    it('console: password → mfaToken (no cookie) → code → session cookies', async () => {
      const mfaToken = await mfaTokenFor(user, '/api/v1/auth/login');
      const response = await post(
        '/api/v1/auth/login/totp',
        { mfaToken, code: await totpCode(secret, clock) },
        { origin: ORIGIN },
      );
      expect(response.statusCode).toBe(200);
      const browser = browserSessionOf(response);
      const me = await inject(app, {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: browser.cookie },
      });
      expect(me.json()).toMatchObject({ username: user.username, totpEnabled: true });
      clock.advanceSeconds(30);
    });

    it('automation: password → mfaToken → code → token pair', async () => {
      const mfaToken = await mfaTokenFor(user);
      const response = await post('/api/v1/auth/token/totp', {
        mfaToken,
        code: await totpCode(secret, clock),
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String) });
      clock.advanceSeconds(30);
    });

    it('a code works once: the same code again is refused as a replay', async () => {
      const code = await totpCode(secret, clock);
      const first = await post('/api/v1/auth/token/totp', { mfaToken: await mfaTokenFor(user), code });
      expect(first.statusCode).toBe(200);
      const second = await post('/api/v1/auth/token/totp', { mfaToken: await mfaTokenFor(user), code });
      expect(second.statusCode).toBe(401);
      expect(second.json().message).toBe('Invalid code');
      const failed = await app
        .get(AuditLog)
        .repository.list({ action: 'auth.totp_failed', actorId: user.user.id });
      expect(failed.entries[0]?.details).toMatchObject({ reason: 'replayed_code' });
      clock.advanceSeconds(30);
    });

    it('codes of the previous and the next step are accepted; two steps away they are not', async () => {
      const attempt = async (offset: number) =>
        (
          await post('/api/v1/auth/token/totp', {
            mfaToken: await mfaTokenFor(user),
            code: await totpCode(secret, clock, offset),
          })
        ).statusCode;
      clock.advanceSeconds(2 * 30); // the step before now must not be one already used above
      expect(await attempt(-1)).toBe(200);
      clock.advanceSeconds(5 * 30);
      expect(await attempt(+1)).toBe(200);
      clock.advanceSeconds(5 * 30);
      expect(await attempt(+2)).toBe(401);
      expect(await attempt(-2)).toBe(401);
      expect(await attempt(0)).toBe(200);
      clock.advanceSeconds(30);
    });

    it('a recovery code replaces the TOTP code exactly once, in any case and with or without its dash', async () => {
      const [first = '', second = ''] = recoveryCodes;
      const used = await post('/api/v1/auth/token/totp', {
        mfaToken: await mfaTokenFor(user),
        recoveryCode: first,
      });
      expect(used.statusCode).toBe(200);
      const again = await post('/api/v1/auth/token/totp', {
        mfaToken: await mfaTokenFor(user),
        recoveryCode: first,
      });
      expect(again.statusCode).toBe(401);
      const loose = await post('/api/v1/auth/token/totp', {
        mfaToken: await mfaTokenFor(user),
        recoveryCode: second.replace('-', '').toUpperCase(),
      });
      expect(loose.statusCode).toBe(200);
      const audit = await app
        .get(AuditLog)
        .repository.list({ action: 'auth.recovery_code_used', actorId: user.user.id });
      expect(audit.entries.map((entry) => entry.details)).toEqual([
        expect.objectContaining({ remaining: 8 }),
        expect.objectContaining({ remaining: 9 }),
      ]);
    });

    // Issue 10 item 19: it used to complete a second sign-in within its 5 minutes.
    it('an mfa token signs in once: a fresh code or recovery code with it again is refused', async () => {
      const mfaToken = await mfaTokenFor(user);
      const first = await post('/api/v1/auth/token/totp', { mfaToken, code: await totpCode(secret, clock) });
      expect(first.statusCode).toBe(200);
      clock.advanceSeconds(30);
      const again = await post('/api/v1/auth/token/totp', { mfaToken, code: await totpCode(secret, clock) });
      expect(again.statusCode).toBe(401);
      expect(again.json().message).toBe('Invalid or expired token');
      const withRecovery = await post('/api/v1/auth/token/totp', {
        mfaToken,
        recoveryCode: recoveryCodes[2] ?? '',
      });
      expect(withRecovery.statusCode).toBe(401);
      // The recovery code was not used up by the refused attempt.
      const fresh = await post('/api/v1/auth/token/totp', {
        mfaToken: await mfaTokenFor(user),
        recoveryCode: recoveryCodes[2] ?? '',
      });
      expect(fresh.statusCode).toBe(200);
      // A wrong code does not spend the token: the person may retype.
      clock.advanceSeconds(30);
      const retyped = await mfaTokenFor(user);
      const right = await totpCode(secret, clock);
      const wrong = right === '000000' ? '111111' : '000000';
      expect((await post('/api/v1/auth/token/totp', { mfaToken: retyped, code: wrong })).statusCode).toBe(
        401,
      );
      expect((await post('/api/v1/auth/token/totp', { mfaToken: retyped, code: right })).statusCode).toBe(
        200,
      );
      clock.advanceSeconds(30);
    });

    it('codes stored before keys (bare SHA-256) still work, and are keyed in place without the codes', async () => {
      const legacyUser = await createUser(app, 'operator');
      const { recoveryCodes: codes } = await enableTotp(app, legacyUser, clock);
      const db = app.get(DatabaseConnection).client;
      for (const code of codes) {
        const hash = app.get(RecoveryCodeDigests).stored(code).codeHash;
        await db.recoveryCode.updateMany({
          where: { userId: legacyUser.user.id, codeHash: new Uint8Array(hash) },
          data: { codeHash: new Uint8Array(unkeyedRecoveryCodeDigest(code)), keyId: null },
        });
      }
      const [first = '', second = ''] = codes;
      const useCode = async (recoveryCode: string) =>
        (await post('/api/v1/auth/token/totp', { mfaToken: await mfaTokenFor(legacyUser), recoveryCode }))
          .statusCode;
      expect(await useCode(first)).toBe(200);

      expect(await app.get(RecoveryCodeRekeying).rekeyAll()).toBe(10);
      const rows = await db.recoveryCode.findMany({ where: { userId: legacyUser.user.id } });
      expect(rows.every((row) => row.keyId === 'k1')).toBe(true);
      expect(await useCode(second)).toBe(200);
      expect(await useCode(first)).toBe(401);
      expect(await app.get(RecoveryCodeRekeying).rekeyAll()).toBe(0);
      const audit = await app.get(AuditLog).repository.list({ action: 'auth.recovery_codes_rekeyed' });
      expect(audit.entries.map((entry) => entry.details)).toEqual([{ codes: 10 }]);
    });

    it('the mfa token opens nothing but the TOTP step', async () => {
      const mfaToken = await mfaTokenFor(user);
      for (const [method, url] of [
        ['GET', '/api/v1/auth/me'],
        ['GET', '/api/v1/auth/sessions'],
        ['POST', '/api/v1/auth/totp/enroll'],
        ['POST', '/api/v1/auth/password'],
      ] as const) {
        const response = await inject(app, {
          method,
          url,
          headers: { authorization: `Bearer ${mfaToken}` },
          payload: {},
        });
        expect(response.statusCode).toBe(401);
        expect(response.json().message).toBe('Invalid or expired token');
      }
      // Nor is an access token accepted where the mfa token belongs.
      const access = (await bearerForTotp()).replace('Bearer ', '');
      const wrongKind = await post('/api/v1/auth/token/totp', {
        mfaToken: access,
        code: await totpCode(secret, clock),
      });
      expect(wrongKind.statusCode).toBe(401);
    });

    async function bearerForTotp(): Promise<string> {
      clock.advanceSeconds(30);
      const response = await post('/api/v1/auth/token/totp', {
        mfaToken: await mfaTokenFor(user),
        code: await totpCode(secret, clock),
      });
      expect(response.statusCode).toBe(200);
      clock.advanceSeconds(30);
      return `Bearer ${response.json<{ accessToken: string }>().accessToken}`;
    }

    it('the mfa token expires after 5 minutes', async () => {
      const early = await mfaTokenFor(user);
      clock.advanceSeconds(5 * 60 - 30);
      expect(
        (await post('/api/v1/auth/token/totp', { mfaToken: early, code: await totpCode(secret, clock) }))
          .statusCode,
      ).toBe(200);
      const late = await mfaTokenFor(user);
      clock.advanceSeconds(5 * 60 + 1);
      const expired = await post('/api/v1/auth/token/totp', {
        mfaToken: late,
        code: await totpCode(secret, clock),
      });
      expect(expired.statusCode).toBe(401);
      expect(expired.json().message).toBe('Invalid or expired token');
    });

    it('the TOTP step validates its body', async () => {
      const mfaToken = await mfaTokenFor(user);
      const both = await post('/api/v1/auth/token/totp', {
        mfaToken,
        code: '123456',
        recoveryCode: 'abcde-fghij',
      });
      expect(both.statusCode).toBe(400);
      const neither = await post('/api/v1/auth/token/totp', { mfaToken });
      expect(neither.statusCode).toBe(400);
      expect(neither.json().message).toEqual(['code: send exactly one of code and recoveryCode']);
      const huge = await post('/api/v1/auth/token/totp', { mfaToken: 'x'.repeat(5000), code: '123456' });
      expect(huge.statusCode).toBe(400);
      const garbage = await post('/api/v1/auth/token/totp', { mfaToken: 'not-a-jwt', code: '123456' });
      expect(garbage.statusCode).toBe(401);
    });

    it('a pro user finishing 2FA at the console door gets 403', async () => {
      const pro = await createUser(app, 'pro');
      const { secret: proSecret } = await enableTotp(app, pro, clock);
      const mfaToken = await mfaTokenFor(pro);
      const response = await post(
        '/api/v1/auth/login/totp',
        { mfaToken, code: await totpCode(proSecret, clock) },
        { origin: ORIGIN },
      );
      expect(response.statusCode).toBe(403);
      expect(response.headers['set-cookie']).toBeUndefined();
    });
  });

  describe('managing the second factor', () => {
    it('regenerating recovery codes needs a current TOTP code and retires the old codes', async () => {
      const user = await createUser(app, 'viewer');
      const { secret, recoveryCodes: old } = await enableTotp(app, user, clock);
      const authorization = await bearerAfterTotp(user, secret);
      const refused = await post(
        '/api/v1/auth/recovery-codes',
        { code: '000000' === (await totpCode(secret, clock)) ? '111111' : '000000' },
        { authorization },
      );
      expect(refused.statusCode).toBe(403);
      const fresh = await post(
        '/api/v1/auth/recovery-codes',
        { code: await totpCode(secret, clock) },
        { authorization },
      );
      expect(fresh.statusCode).toBe(200);
      const codes = fresh.json<{ recoveryCodes: string[] }>().recoveryCodes;
      expect(codes).toHaveLength(10);
      expect(codes).not.toEqual(expect.arrayContaining([old[0]]));
      clock.advanceSeconds(30);
      const withOld = await post('/api/v1/auth/token/totp', {
        mfaToken: await mfaTokenFor(user),
        recoveryCode: old[0],
      });
      expect(withOld.statusCode).toBe(401);
      const withNew = await post('/api/v1/auth/token/totp', {
        mfaToken: await mfaTokenFor(user),
        recoveryCode: codes[0],
      });
      expect(withNew.statusCode).toBe(200);
      expect(await actions(user.user.id)).toContain('auth.recovery_codes_regenerated');
    });

    it('disable needs the password and a code (403 otherwise); afterwards login is one step again', async () => {
      const user = await createUser(app, 'viewer');
      const { secret } = await enableTotp(app, user, clock);
      const authorization = await bearerAfterTotp(user, secret);
      const badPassword = await post(
        '/api/v1/auth/totp/disable',
        { password: 'not the password', code: await totpCode(secret, clock) },
        { authorization },
      );
      expect(badPassword.statusCode).toBe(403);
      const badCode = await post(
        '/api/v1/auth/totp/disable',
        { password: user.password, code: '99999' },
        { authorization },
      );
      expect(badCode.statusCode).toBe(403);
      const missing = await post('/api/v1/auth/totp/disable', { code: '123456' }, { authorization });
      expect(missing.statusCode).toBe(400);

      const done = await post(
        '/api/v1/auth/totp/disable',
        { password: user.password, code: await totpCode(secret, clock) },
        { authorization },
      );
      expect(done.statusCode).toBe(204);
      expect(await app.get(UserCredentialRepository).findTotpState(user.user.id)).toEqual({
        sealedSecret: null,
        enabled: false,
        lastStep: null,
      });
      const login = await post('/api/v1/auth/token', { username: user.username, password: user.password });
      expect(login.json()).toHaveProperty('accessToken');
      expect(await actions(user.user.id)).toContain('auth.totp_disabled');
      const again = await post(
        '/api/v1/auth/totp/disable',
        { password: user.password, code: '123456' },
        { authorization },
      );
      expect(again.statusCode).toBe(409);
    });

    it('a lost device: disable accepts a recovery code instead of the TOTP code', async () => {
      const user = await createUser(app, 'viewer');
      const { secret, recoveryCodes } = await enableTotp(app, user, clock);
      const authorization = await bearerAfterTotp(user, secret);
      const done = await post(
        '/api/v1/auth/totp/disable',
        { password: user.password, code: recoveryCodes[3] },
        { authorization },
      );
      expect(done.statusCode).toBe(204);
    });

    async function bearerAfterTotp(user: TestUser, secret: string): Promise<string> {
      const response = await post('/api/v1/auth/token/totp', {
        mfaToken: await mfaTokenFor(user),
        code: await totpCode(secret, clock),
      });
      expect(response.statusCode).toBe(200);
      clock.advanceSeconds(30);
      return `Bearer ${response.json<{ accessToken: string }>().accessToken}`;
    }
  });
});
