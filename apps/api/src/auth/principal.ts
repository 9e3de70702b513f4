import { type JsonObject } from '@switchboard/audit';
import { type AuditAppendInput, type UserRole } from '@switchboard/data-access';

import { type Channel } from './permissions';

/** The credential a request proved. */
export type Credential = 'session' | 'access_token' | 'api_key';

/**
 * Who is making a request, settled by the AccessGuard before any controller runs. Services take it
 * (never the raw request) to authorise finer rules and to name the actor in audit entries.
 */
export interface Principal {
  readonly userId: string;
  readonly username: string;
  /** For an API key: the key's role, which never exceeds its owner's. */
  readonly role: UserRole;
  readonly channel: Channel;
  readonly credential: Credential;
  /** The browser session's row id, when credential is `session`. */
  readonly sessionId?: string;
  /** The API key's row id and public prefix, when credential is `api_key`. */
  readonly apiKeyId?: string;
  readonly apiKeyPrefix?: string;
  /** A password someone else set must be changed before anything but self-service is allowed. */
  readonly passwordMustChange: boolean;
}

/** The request facts an audit entry records besides the actor. */
export interface RequestOrigin {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/** How an audit entry names the actor: the user, or the API key acting for them. */
export function auditActorOf(principal: Principal): { actorType: string; actorId: string } {
  return principal.credential === 'api_key'
    ? { actorType: 'api_key', actorId: principal.apiKeyPrefix ?? principal.apiKeyId ?? principal.userId }
    : { actorType: 'user', actorId: principal.userId };
}

/** The short actor string events carry (libs/events `actor`). */
export function eventActorOf(principal: Principal): string {
  return principal.credential === 'api_key'
    ? `api_key:${principal.apiKeyPrefix ?? ''}`
    : `user:${principal.userId}`;
}

/** Who is acting, and from where: every operator change's audit entry names both. */
export interface Actor {
  readonly principal: Principal;
  readonly origin: RequestOrigin;
}

/** An operator's change as a chain entry: who, from where (IP and user agent), on what. */
export function actorAuditEntry(
  actor: Actor,
  action: string,
  target: { readonly type: string; readonly id: string },
  details: JsonObject = {},
): AuditAppendInput {
  return {
    ...auditActorOf(actor.principal),
    action,
    targetType: target.type,
    targetId: target.id,
    ip: actor.origin.ip,
    details: { ...details, userAgent: actor.origin.userAgent },
  };
}
