import { type SessionRecord } from '@switchboard/data-access';

/** A session as the operator API shows it: a console cookie or a RustDesk client's login. */
export interface SessionView {
  readonly id: string;
  /** `browser` (console) or `client` (RustDesk client, POST /api/login). */
  readonly kind: string;
  readonly current: boolean;
  readonly rememberMe: boolean;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** Client logins: the RustDesk id and the device as the client described it. */
  readonly client: {
    readonly id: string | null;
    readonly uuid: string | null;
    readonly os: string | null;
    readonly type: string | null;
    readonly name: string | null;
  } | null;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly expiresAt: string;
}

export function sessionViewOf(session: SessionRecord, currentSessionId: string | undefined): SessionView {
  return {
    id: session.id,
    kind: session.kind,
    current: session.id === currentSessionId,
    rememberMe: session.rememberMe,
    ip: session.ip,
    userAgent: session.userAgent,
    client: session.client,
    createdAt: session.createdAt.toISOString(),
    lastSeenAt: session.lastSeenAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
  };
}
