import { type UserRole } from '@switchboard/data-access';

/**
 * Who a RustDesk client call comes from: the user of a live client login (POST /api/login). Set by
 * the AccessGuard on `@ClientUser()` routes; services scope every query by it.
 */
export interface ClientCaller {
  readonly userId: string;
  readonly username: string;
  readonly role: UserRole;
  /** Admins see every user, device and shared book in the client (docs/client-api.md). */
  readonly isAdmin: boolean;
  /** sessions.id of the login: what logout and the operator's revocation end. */
  readonly sessionId: string;
  /** The RustDesk id the client logged in from, as it said (not proof of anything). */
  readonly clientId: string | null;
}
