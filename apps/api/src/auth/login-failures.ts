import { Inject, Injectable } from '@nestjs/common';

import { API_SECRETS } from '../app.tokens';
import { AuditLog } from '../audit/audit-log';
import { type ApiSecrets } from '../secrets';
import { authAuditEntry, throttledEntries, typedUsernameDetails, usernameDigestKey } from './auth-audit';
import { type LoginSurface, LoginMetrics } from './login-metrics';
import { type LoginAttempt } from './login-throttle';
import { type RequestOrigin } from './principal';

export interface LoginFailure {
  readonly action: 'auth.login_failed' | 'auth.totp_failed';
  /** The account, when the name matched one. */
  readonly userId: string | null;
  /** As typed. */
  readonly username: string;
  readonly reason: string;
  /** Where it happened: `panel` / `api` logins, or a re-authentication such as `password_change`. */
  readonly context: string;
  /** Which front door the failure came through, for the lockout metric (re-authentications: console). */
  readonly surface: LoginSurface;
  readonly origin: RequestOrigin;
}

/**
 * A failed password or TOTP check: one step up every ladder (TOTP failures count like password
 * failures), the failure audited, and any lock it imposed audited as auth.login_throttled.
 */
@Injectable()
export class LoginFailures {
  private readonly usernameDigestKey: Buffer;

  constructor(
    private readonly audit: AuditLog,
    private readonly metrics: LoginMetrics,
    @Inject(API_SECRETS) secrets: ApiSecrets,
  ) {
    this.usernameDigestKey = usernameDigestKey(secrets.auditKeyring);
  }

  async record(attempt: LoginAttempt, failure: LoginFailure): Promise<void> {
    const locks = await attempt.failed();
    // One lockout however many ladders (network, account, pair) this failure locked together.
    if (locks.length > 0) this.metrics.lockout(failure.surface);
    const facts = { userId: failure.userId, origin: failure.origin };
    await this.audit.record(
      authAuditEntry(failure.action, {
        ...facts,
        details: {
          ...typedUsernameDetails(failure.username, failure.userId, this.usernameDigestKey),
          reason: failure.reason,
          context: failure.context,
        },
      }),
    );
    const username = failure.username;
    for (const entry of throttledEntries(locks, { ...facts, username }, this.usernameDigestKey)) {
      await this.audit.record(entry);
    }
  }
}
