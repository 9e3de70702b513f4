import { type UserRecord } from '@switchboard/data-access';

/**
 * The `user` object of the client's login and currentUser answers. Dart (hbbs.dart UserPayload)
 * reads strings or null and `is_admin === true`; the Rust OIDC path (src/hbbs_http/account.rs)
 * needs `name` and an `info` object, so both are always present.
 */
export interface ClientUserPayload {
  readonly name: string;
  readonly display_name: string | null;
  readonly email: string | null;
  /** 1 normal, 0 disabled, -1 unverified (a disabled user never gets this far). */
  readonly status: 1 | 0 | -1;
  readonly is_admin: boolean;
  readonly info: Record<string, never>;
}

export function clientUserPayload(
  user: Pick<UserRecord, 'username' | 'displayName' | 'email' | 'disabled' | 'role'>,
): ClientUserPayload {
  return {
    name: user.username,
    display_name: user.displayName,
    email: user.email,
    status: user.disabled ? 0 : 1,
    is_admin: user.role === 'admin',
    info: {},
  };
}
