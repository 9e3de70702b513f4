import { createHmac } from 'node:crypto';

import { type AuditKeyring } from '@switchboard/audit';
import { type AuditAppendInput } from '@switchboard/data-access';

import { type LockImposed } from './login-throttle';
import { type RequestOrigin } from './principal';

// Audit entries of the auth flows, in one shape: the user acts on their own account (or an anonymous
// caller, for a failed login of an unknown name), with the request's IP and user agent.

/** Audit `details.username` of a known account keeps what was typed, cut to this length. */
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

/**
 * How a typed username is audited. A name that matched an account is kept (cut to 64 characters): the
 * entry's target names that account anyway. Any other is never stored as typed, since people type
 * passwords into the username field: a keyed digest lets an investigator see the same unknown name
 * come back, and check a guess with the audit key, without the log holding the text.
 */
export function typedUsernameDetails(
  username: string,
  userId: string | null,
  digestKey: Buffer,
): { username: string } | { usernameDigest: string; usernameLength: number } {
  if (userId !== null) return { username: username.slice(0, USERNAME_IN_AUDIT) };
  return {
    usernameDigest: createHmac('sha256', digestKey).update(username).digest('hex').slice(0, 32),
    usernameLength: [...username].length,
  };
}

/** The digest key of typed usernames: derived from the audit chain's current key, for this use only. */
export function usernameDigestKey(auditKeyring: AuditKeyring): Buffer {
  const key = auditKeyring.keys.get(auditKeyring.currentKeyId) ?? Buffer.alloc(0);
  return createHmac('sha256', key).update('switchboard.audit.typed-username.v1').digest();
}

/** One `auth.login_throttled` entry per lock a failure imposed. */
export function throttledEntries(
  locks: readonly LockImposed[],
  facts: Omit<AuthAuditFacts, 'details'> & { readonly username: string },
  digestKey: Buffer,
): AuditAppendInput[] {
  return locks.map((lock) =>
    authAuditEntry('auth.login_throttled', {
      ...facts,
      details: {
        ...typedUsernameDetails(facts.username, facts.userId ?? null, digestKey),
        scope: lock.scope,
        lockSeconds: lock.seconds,
        rung: lock.rung,
      },
    }),
  );
}
