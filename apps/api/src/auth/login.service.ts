import { ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import {
  type AuditAppendInput,
  type SessionClient,
  type UserRecord,
  UserRepository,
} from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { ChangeRunner } from '../changes/change-runner';
import { ClientSessions } from '../client-auth/client-sessions';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';
import { AccessTokens } from './access-tokens';
import { authAuditEntry } from './auth-audit';
import { BrowserSessions, type OpenedSession } from './browser-sessions';
import { LoginFailedException } from './login-failed.exception';
import { LoginFailures } from './login-failures';
import { type LoginSurface, LoginMetrics, loginResultOf } from './login-metrics';
import { type LoginAttempt, LoginThrottle } from './login-throttle';
import { sha256 } from './opaque-token';
import { PasswordHasher } from './password-hasher';
import { type Channel, roleMayUse } from './permissions';
import { type RequestOrigin } from './principal';
import { RecoveryCodeDigests } from './recovery-codes';
import { RefreshTokenService } from './refresh-tokens.service';
import { type TokenPair } from './auth-responses';
import { SecondFactor } from './second-factor';
import { SpentMfaTokens } from './spent-mfa-tokens';
import { tokensIssuedBefore } from './token-cutoff';

/**
 * Verified against when the username is unknown or the user disabled, so those answers take as long
 * as a wrong password for a real account and timing tells nobody which names exist. It is an argon2id
 * hash with the same parameters as PasswordHasher's (64 MiB, t=3, p=4) of a password nobody uses;
 * the account checks after it refuse regardless of its result.
 */
export const DUMMY_PASSWORD_HASH =
  '$argon2id$v=19$m=65536,p=4,t=3$XLwJsoJj8Q4UvWktozDDYw$2yxBQ78m+8dSHRfRqZsgRn6hayLyOaKmj/qjpIrrBbo';

/** The one answer for every bad-credential case (unknown user, disabled, wrong password). */
export const BAD_CREDENTIALS = 'Invalid username or password';
const BAD_CODE = 'Invalid code';
const BAD_MFA_TOKEN = 'Invalid or expired token';

export interface PasswordLogin {
  readonly username: string;
  readonly password: string;
  readonly rememberMe?: boolean;
}

export interface MfaLogin {
  readonly mfaToken: string;
  readonly code?: string;
  readonly recoveryCode?: string;
  readonly rememberMe?: boolean;
}

/**
 * Where a login lands: `panel` opens a browser session, `api` issues a token pair, and `api` with
 * `client` set opens a RustDesk client's login (POST /api/login, apps/api/src/client-account).
 */
export interface LoginContext {
  readonly channel: Channel;
  /** The RustDesk client logging in, as it described itself. */
  readonly client?: SessionClient;
  readonly origin: RequestOrigin;
  /** panel: the session cookie the browser already had, revoked by this login (no fixation). */
  readonly presentedSessionToken?: string;
}

export type LoginOutcome =
  | { readonly kind: 'mfa_required'; readonly mfaToken: string; readonly user: UserRecord }
  | { readonly kind: 'session'; readonly session: OpenedSession; readonly user: UserRecord }
  | { readonly kind: 'tokens'; readonly tokens: TokenPair }
  | { readonly kind: 'client'; readonly accessToken: string; readonly user: UserRecord };

type SecondFactorMethod = 'totp' | 'recovery_code';

/**
 * Password login and its TOTP step, shared by the console (`/auth/login`) and automation
 * (`/auth/token`). Every attempt passes the backoff ladder first; a locked ladder answers 429 before
 * any password is looked at. A TOTP user's correct password does not reset the ladder: only a
 * finished login does, or a stolen password would let the second factor be guessed without limit.
 */
@Injectable()
export class LoginService {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly throttle: LoginThrottle,
    private readonly failures: LoginFailures,
    private readonly accessTokens: AccessTokens,
    private readonly sessions: BrowserSessions,
    private readonly clientSessions: ClientSessions,
    private readonly refreshTokens: RefreshTokenService,
    private readonly secondFactor: SecondFactor,
    private readonly spentMfaTokens: SpentMfaTokens,
    private readonly recoveryDigests: RecoveryCodeDigests,
    private readonly changes: ChangeRunner,
    private readonly metrics: LoginMetrics,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  passwordLogin(input: PasswordLogin, context: LoginContext): Promise<LoginOutcome> {
    return this.counted(context, () => this.checkPassword(input, context));
  }

  mfaLogin(input: MfaLogin, context: LoginContext): Promise<LoginOutcome> {
    return this.counted(context, () => this.checkSecondFactor(input, context));
  }

  /** Every login request is counted once, by how it ended (login-metrics.ts). */
  private async counted(context: LoginContext, login: () => Promise<LoginOutcome>): Promise<LoginOutcome> {
    const surface = loginSurfaceOf(context);
    try {
      const outcome = await login();
      this.metrics.login(surface, outcome.kind === 'mfa_required' ? 'second_factor_required' : 'ok');
      return outcome;
    } catch (error) {
      this.metrics.login(surface, loginResultOf(error));
      throw error;
    }
  }

  private async checkPassword(input: PasswordLogin, context: LoginContext): Promise<LoginOutcome> {
    const attempt = await this.throttle.begin({ ip: ipOf(context.origin), username: input.username });
    try {
      const user = await this.users.findByUsername(input.username);
      // Always one argon2 verification, against the dummy hash when there is no account.
      const passwordMatches = await this.hasher.verify(
        user?.passwordHash ?? DUMMY_PASSWORD_HASH,
        input.password,
      );
      if (user === null || user.disabled || !passwordMatches) {
        await this.failures.record(attempt, {
          action: 'auth.login_failed',
          userId: user?.id ?? null,
          username: input.username,
          reason: user === null ? 'unknown_user' : user.disabled ? 'disabled' : 'bad_password',
          context: context.channel,
          surface: loginSurfaceOf(context),
          origin: context.origin,
        });
        throw new LoginFailedException('bad_credentials', BAD_CREDENTIALS);
      }
      this.assertChannel(user, context.channel);
      if (user.totpEnabled) {
        return { kind: 'mfa_required', mfaToken: await this.accessTokens.issueMfaToken(user), user };
      }
      return orRefuse(await this.complete(attempt, user, 'password', input.rememberMe ?? false, context));
    } finally {
      await attempt.release();
    }
  }

  private async checkSecondFactor(input: MfaLogin, context: LoginContext): Promise<LoginOutcome> {
    const claims = await this.accessTokens.verify(input.mfaToken, 'mfa').catch((error: unknown) => {
      throw error instanceof UnauthorizedException
        ? new LoginFailedException('second_factor_failed', BAD_MFA_TOKEN)
        : error;
    });
    const { tokenId } = claims;
    const user = await this.users.findById(claims.sub);
    if (
      tokenId === undefined ||
      user === null ||
      user.disabled ||
      !user.totpEnabled ||
      claims.issuedAtMs < tokensIssuedBefore(user)
    ) {
      throw new LoginFailedException('second_factor_failed', BAD_MFA_TOKEN);
    }
    this.assertChannel(user, context.channel);
    const attempt = await this.throttle.begin({ ip: ipOf(context.origin), username: user.username });
    try {
      if (input.code !== undefined) {
        const check = await this.secondFactor.checkTotp(user.id, input.code);
        if (check !== 'ok') {
          return await this.totpFailed(
            attempt,
            user,
            check === 'replayed' ? 'replayed_code' : 'wrong_code',
            context,
          );
        }
        return orRefuse(
          await this.complete(attempt, user, 'totp', input.rememberMe ?? false, context, { tokenId }),
        );
      }
      const outcome = await this.complete(
        attempt,
        user,
        'recovery_code',
        input.rememberMe ?? false,
        context,
        {
          tokenId,
          recoveryCode: input.recoveryCode ?? '',
        },
      );
      return outcome ?? (await this.totpFailed(attempt, user, 'bad_recovery_code', context));
    } finally {
      await attempt.release();
    }
  }

  /**
   * The login's writes in one transaction: the presented browser session revoked, the new session or
   * token family, last_login_at, the audit entry (and a recovery code used up). Null when the
   * recovery code was not the user's or already used (nothing is written then). A second step also
   * spends its MFA token, last, so a wrong recovery code leaves the token usable and a spent token
   * rolls the recovery code back.
   */
  private async complete(
    attempt: LoginAttempt,
    user: UserRecord,
    method: 'password' | SecondFactorMethod,
    rememberMe: boolean,
    context: LoginContext,
    secondStep?: { tokenId: string; recoveryCode?: string },
  ): Promise<LoginOutcome | null> {
    const now = this.clock.now();
    const outcome = await this.changes.run(async (repositories) => {
      const audit: AuditAppendInput[] = [];
      if (secondStep?.recoveryCode !== undefined) {
        const used = await repositories.recoveryCodes.consume(
          user.id,
          this.recoveryDigests.lookup(secondStep.recoveryCode),
          now,
        );
        if (!used) return { result: null, audit: [] };
        const left = await repositories.recoveryCodes.countUnused(user.id);
        audit.push(
          authAuditEntry('auth.recovery_code_used', {
            userId: user.id,
            origin: context.origin,
            details: { remaining: left },
          }),
        );
      }
      if (secondStep !== undefined && !(await this.spentMfaTokens.spend(secondStep.tokenId))) {
        throw new LoginFailedException('second_factor_failed', BAD_MFA_TOKEN);
      }
      const landed = await this.land(repositories, user, rememberMe, context);
      await repositories.credentials.recordLogin(user.id, now);
      audit.push(
        authAuditEntry('auth.login', {
          userId: user.id,
          origin: context.origin,
          details: { channel: context.channel, method, ...landed.auditDetails },
        }),
      );
      return { result: landed.outcome, audit };
    });
    if (outcome !== null) await attempt.succeeded();
    return outcome;
  }

  private async land(
    repositories: Repositories,
    user: UserRecord,
    rememberMe: boolean,
    context: LoginContext,
  ): Promise<{ outcome: LoginOutcome; auditDetails: Record<string, string | boolean> }> {
    if (context.client !== undefined) {
      // The client cannot change a password someone else chose; the console must be used first.
      if (user.passwordMustChange) {
        throw new ForbiddenException(
          'Password change required: sign in to the web console and choose a new password first',
        );
      }
      const opened = await this.clientSessions.open(repositories, user, context.client, context.origin);
      return {
        outcome: { kind: 'client', accessToken: opened.accessToken, user },
        auditDetails: { sessionId: opened.session.id, clientId: context.client.id ?? '' },
      };
    }
    if (context.channel === 'api') {
      const { familyId, ...tokens } = await this.refreshTokens.issue(repositories, user, context.origin);
      return { outcome: { kind: 'tokens', tokens }, auditDetails: { refreshFamilyId: familyId } };
    }
    if (context.presentedSessionToken !== undefined) {
      const presented = await repositories.sessions.findByTokenHash(sha256(context.presentedSessionToken));
      if (presented !== null) await repositories.sessions.revoke(presented.id, this.clock.now());
    }
    const session = await this.sessions.open(repositories, user, rememberMe, context.origin);
    return {
      outcome: { kind: 'session', session, user },
      auditDetails: { sessionId: session.session.id, rememberMe },
    };
  }

  private async totpFailed(
    attempt: LoginAttempt,
    user: UserRecord,
    reason: string,
    context: LoginContext,
  ): Promise<never> {
    await this.failures.record(attempt, {
      action: 'auth.totp_failed',
      userId: user.id,
      username: user.username,
      reason,
      context: context.channel,
      surface: loginSurfaceOf(context),
      origin: context.origin,
    });
    throw new LoginFailedException('second_factor_failed', BAD_CODE);
  }

  /** A correct password of a `pro` user still opens no console session (API only). */
  private assertChannel(user: UserRecord, channel: Channel): void {
    if (!roleMayUse(user.role, channel)) {
      throw new ForbiddenException(
        channel === 'panel'
          ? `The ${user.role} role cannot use the console; use the API (POST /api/v1/auth/token)`
          : `The ${user.role} role cannot use the API`,
      );
    }
  }
}

/** Only a recovery-code login can come back empty; anything else would be a bug, refused safely. */
function orRefuse(outcome: LoginOutcome | null): LoginOutcome {
  if (outcome === null) throw new UnauthorizedException(BAD_CREDENTIALS);
  return outcome;
}

/** The RustDesk client's login is the one that names its client; every other is the operator API's. */
function loginSurfaceOf(context: LoginContext): LoginSurface {
  return context.client === undefined ? 'console' : 'client';
}

/** Fastify always knows the peer address; the fallback only keeps the ladder keyed if it did not. */
function ipOf(origin: RequestOrigin): string {
  return origin.ip ?? 'unknown';
}
