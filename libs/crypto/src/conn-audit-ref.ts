import { signDetached, verifyDetached } from './ed25519-sign';

// The `conn_audit_ref` signal puts into the controlled side's ControlledContext when a logged-in
// client asks to connect (PunchHoleRequest.token). The controlled device posts it back with its
// connection audit record, and the api learns which user was connecting. The device relays the
// reference but cannot forge or alter one: signal signs it with its Ed25519 identity key (whose
// public half the api reads), under a context of its own, as it signs relay tickets.

/** Domain separation: this key also signs peer keys, the secure-TCP box key and relay tickets. */
const SIGNING_CONTEXT = 'switchboard conn audit ref v1\n';
/** Far above a real reference (~300 characters): anything longer is refused unread. */
export const MAX_CONN_AUDIT_REF_LENGTH = 1024;

export interface ConnAuditRefClaims {
  /** The controlling user's client login (sessions.id), user id and name, from the access token. */
  readonly sessionId: string;
  readonly userId: string;
  readonly username: string;
  /** The device being connected to: a reference only counts in that device's own audit records. */
  readonly targetId: string;
  /** Wall-clock ms when signal issued it. */
  readonly issuedAt: number;
}

export function encodeConnAuditRef(claims: ConnAuditRefClaims, secretKey: Uint8Array): string {
  const body = Buffer.from(
    JSON.stringify({
      s: claims.sessionId,
      u: claims.userId,
      n: claims.username,
      t: claims.targetId,
      i: claims.issuedAt,
    }),
  ).toString('base64url');
  const signature = signDetached(Buffer.from(SIGNING_CONTEXT + body), secretKey);
  return `${body}.${signature.toString('base64url')}`;
}

export type ConnAuditRefFailure = 'malformed' | 'forged';

/** The claims of a reference signal signed; never throws. Freshness and target are the caller's to judge. */
export function decodeConnAuditRef(
  value: string,
  publicKey: Uint8Array,
): ConnAuditRefClaims | ConnAuditRefFailure {
  if (value.length > MAX_CONN_AUDIT_REF_LENGTH) return 'malformed';
  const dot = value.indexOf('.');
  if (dot <= 0) return 'malformed';
  const body = value.slice(0, dot);
  const signature = Buffer.from(value.slice(dot + 1), 'base64url');
  if (!verifyDetached(Buffer.from(SIGNING_CONTEXT + body), signature, publicKey)) return 'forged';
  return parseClaims(body) ?? 'malformed';
}

function parseClaims(body: string): ConnAuditRefClaims | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { s, u, n, t, i } = parsed as Record<string, unknown>;
  if (typeof s !== 'string' || typeof u !== 'string' || typeof n !== 'string' || typeof t !== 'string') {
    return undefined;
  }
  if (typeof i !== 'number' || !Number.isFinite(i)) return undefined;
  return { sessionId: s, userId: u, username: n, targetId: t, issuedAt: i };
}
