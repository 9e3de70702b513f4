import { type UserRecord } from '@switchboard/data-access';

/**
 * The issue time (ms, AccessTokens' `issuedAtMs`) before which the user's tokens are dead: issued
 * before their password last changed, or before all their logins were last ended (disable, reset,
 * delete, password change).
 */
export function tokensIssuedBefore(user: Pick<UserRecord, 'passwordChangedAt' | 'loginsRevokedAt'>): number {
  return Math.max(user.passwordChangedAt.getTime(), user.loginsRevokedAt?.getTime() ?? 0);
}
