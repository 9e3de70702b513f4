import { ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { RecoveryCodeRepository, type UserRecord, UserRepository } from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { type Clock } from '../time/clock';

import { LoginFailures } from './login-failures';
import { type LoginAttempt, LoginThrottle } from './login-throttle';
import { PasswordHasher } from './password-hasher';
import { type Principal, type RequestOrigin } from './principal';
import { RecoveryCodeDigests } from './recovery-codes';
import { SecondFactor, type TotpCheck } from './second-factor';

const TOTP_CODE = /^\d{6}$/;

export interface Proof {
  readonly password?: string;
  /** A TOTP code; or, with allowRecoveryCode, a recovery code (used up by this check). */
  readonly code?: string;
  readonly allowRecoveryCode?: boolean;
}

/**
 * Sensitive self-service changes (password, 2FA) ask for the password or a TOTP code again. Those
 * checks go through the same backoff ladder and failure audit as a login, so a hijacked session
 * cannot be used to guess the password or the second factor. A wrong secret is 403 (the caller
 * is signed in; the proof is what failed), so a console does not mistake it for a lost session.
 */
@Injectable()
export class Reauthentication {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly throttle: LoginThrottle,
    private readonly failures: LoginFailures,
    private readonly secondFactor: SecondFactor,
    private readonly recoveryCodes: RecoveryCodeRepository,
    private readonly recoveryDigests: RecoveryCodeDigests,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  /** The principal's own, live user row; API keys cannot change their owner's credentials. */
  async personOf(principal: Principal): Promise<UserRecord> {
    if (principal.credential === 'api_key') {
      throw new ForbiddenException('API keys cannot change credentials; sign in as the user');
    }
    const user = await this.users.findById(principal.userId);
    if (user === null || user.disabled) throw new UnauthorizedException('Authentication required');
    return user;
  }

  /**
   * Runs `work` once the given proofs hold (admitted by the ladder, which a success resets).
   * `password` and `code` are each checked when present.
   */
  async withProof<T>(
    user: UserRecord,
    proof: Proof,
    context: { action: string; origin: RequestOrigin },
    work: () => Promise<T>,
  ): Promise<T> {
    const attempt = await this.throttle.begin({
      ip: context.origin.ip ?? 'unknown',
      username: user.username,
    });
    try {
      if (proof.password !== undefined && !(await this.hasher.verify(user.passwordHash, proof.password))) {
        await this.fail(attempt, user, 'auth.login_failed', 'bad_password', context);
        throw new ForbiddenException('The password is not correct');
      }
      if (proof.code !== undefined) {
        const check = await this.checkCode(user, proof);
        if (check !== 'ok') {
          await this.fail(
            attempt,
            user,
            'auth.totp_failed',
            check === 'replayed' ? 'replayed_code' : 'wrong_code',
            context,
          );
          throw new ForbiddenException('The code is not correct');
        }
      }
      const result = await work();
      await attempt.succeeded();
      return result;
    } finally {
      await attempt.release();
    }
  }

  private async checkCode(user: UserRecord, proof: Proof): Promise<TotpCheck> {
    const code = proof.code ?? '';
    if (TOTP_CODE.test(code)) return this.secondFactor.checkTotp(user.id, code);
    if (!proof.allowRecoveryCode) return 'wrong';
    const used = await this.recoveryCodes.consume(
      user.id,
      this.recoveryDigests.lookup(code),
      this.clock.now(),
    );
    return used ? 'ok' : 'wrong';
  }

  private fail(
    attempt: LoginAttempt,
    user: UserRecord,
    action: 'auth.login_failed' | 'auth.totp_failed',
    reason: string,
    context: { action: string; origin: RequestOrigin },
  ): Promise<void> {
    return this.failures.record(attempt, {
      action,
      userId: user.id,
      username: user.username,
      reason,
      context: context.action,
      surface: 'console',
      origin: context.origin,
    });
  }
}
