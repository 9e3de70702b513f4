import { type AuditAppendInput } from '@switchboard/data-access';

import { type LockImposed } from './login-throttle';
import { type RequestOrigin } from './principal';

// Audit entries of the auth flows, in one shape: the user acts on their own account (or an anonymous
// caller, for a failed login of an unknown name), with the request's IP and user agent.

/** Audit `details.username` keeps what was typed, cut to this length (it may be anything). */
const USERNAME_IN_AUDIT = 64;

export interface AuthAuditFacts {
  /** The account concerned, when one is known. */
  readonly userId?: string | null;
  readonly origin: RequestOrigin;
  readonly details?: Record<string, string | number | boolean | null>;
}

export function authAuditEntry(action: string, facts: AuthAuditFacts): AuditAppendInput {
  const userId = facts.userId ?? null;
  return {
    actorType: userId === null ? 'anonymous' : 'user',
    actorId: userId,
    action,
    targetType: 'user',
    targetId: userId,
    ip: facts.origin.ip,
    details: { userAgent: facts.origin.userAgent, ...facts.details },
  };
}

export function typedUsername(username: string): string {
  return username.slice(0, USERNAME_IN_AUDIT);
}

/** One `auth.login_throttled` entry per lock a failure imposed. */
export function throttledEntries(
  locks: readonly LockImposed[],
  facts: Omit<AuthAuditFacts, 'details'> & { readonly username: string },
): AuditAppendInput[] {
  return locks.map((lock) =>
    authAuditEntry('auth.login_throttled', {
      ...facts,
      details: {
        username: typedUsername(facts.username),
        scope: lock.scope,
        lockSeconds: lock.seconds,
        rung: lock.rung,
      },
    }),
  );
}
