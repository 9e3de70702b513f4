import { Injectable } from '@nestjs/common';

import { AuditLog } from '../audit/audit-log';
import { authAuditEntry, throttledEntries, typedUsername } from './auth-audit';
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
  readonly origin: RequestOrigin;
}

/**
 * A failed password or TOTP check: one step up every ladder (TOTP failures count like password
 * failures), the failure audited, and any lock it imposed audited as auth.login_throttled.
 */
@Injectable()
export class LoginFailures {
  constructor(private readonly audit: AuditLog) {}

  async record(attempt: LoginAttempt, failure: LoginFailure): Promise<void> {
    const locks = await attempt.failed();
    const facts = { userId: failure.userId, origin: failure.origin };
    await this.audit.record(
      authAuditEntry(failure.action, {
        ...facts,
        details: {
          username: typedUsername(failure.username),
          reason: failure.reason,
          context: failure.context,
        },
      }),
    );
    for (const entry of throttledEntries(locks, { ...facts, username: failure.username })) {
      await this.audit.record(entry);
    }
  }
}
