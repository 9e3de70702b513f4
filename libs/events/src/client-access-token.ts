import { type EventSigningKey, type EventVerifyKey } from './event-signing';

// The access token a RustDesk client gets from POST /api/login (docs/client-api.md §2.3). The api
// checks it against the sessions table (hashed, revocable) on every client-API call. Signal cannot
// reach the database per punch, so the token also carries its session and user, signed with the
// api's event key: signal already holds the public half, and only the api can mint a token signal
// accepts (docs/architecture.md "Who is connecting"). Signal never treats it as more than a claim
// of who logged in; revocation is enforced by the api.

const STATEMENT_CONTEXT = 'client access token v1';
const TOKEN_PREFIX = 'sbc1';
/** Far above a real token (~250 characters); anything longer is refused before any parsing. */
export const MAX_CLIENT_ACCESS_TOKEN_LENGTH = 1024;

export interface ClientAccessTokenClaims {
  /** sessions.id of the login. */
  readonly sessionId: string;
  readonly userId: string;
  readonly username: string;
  /** Wall-clock ms after which the token is dead even if the session row were not. */
  readonly expiresAt: number;
  /** Random bytes (base64url): the token's secret part, so two logins never share a token. */
  readonly nonce: string;
}

export function encodeClientAccessToken(claims: ClientAccessTokenClaims, key: EventSigningKey): string {
  const body = Buffer.from(
    JSON.stringify({
      s: claims.sessionId,
      u: claims.userId,
      n: claims.username,
      e: claims.expiresAt,
      r: claims.nonce,
    }),
  ).toString('base64url');
  return `${TOKEN_PREFIX}.${body}.${key.signStatement(STATEMENT_CONTEXT, body).toString('base64url')}`;
}

export type ClientAccessTokenFailure = 'malformed' | 'forged' | 'expired';

/** The claims of a token the api signed and that has not expired; never throws. */
export function decodeClientAccessToken(
  token: string,
  key: EventVerifyKey,
  now: number,
): ClientAccessTokenClaims | ClientAccessTokenFailure {
  if (token.length > MAX_CLIENT_ACCESS_TOKEN_LENGTH) return 'malformed';
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) return 'malformed';
  const [, body, signature] = parts as [string, string, string];
  if (!key.verifyStatement(STATEMENT_CONTEXT, body, Buffer.from(signature, 'base64url'))) return 'forged';
  const claims = parseClaims(body);
  if (claims === undefined) return 'malformed';
  return claims.expiresAt < now ? 'expired' : claims;
}

/**
 * The claims as written, signature and expiry unchecked: a hint only, for a holder of the hashed
 * token (the api) to start reading the user while it looks the token up.
 */
export function readClientAccessTokenClaims(token: string): ClientAccessTokenClaims | undefined {
  if (token.length > MAX_CLIENT_ACCESS_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  return parts.length === 3 && parts[0] === TOKEN_PREFIX ? parseClaims(parts[1] ?? '') : undefined;
}

function parseClaims(body: string): ClientAccessTokenClaims | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { s, u, n, e, r } = parsed as Record<string, unknown>;
  if (typeof s !== 'string' || typeof u !== 'string' || typeof n !== 'string') return undefined;
  if (typeof e !== 'number' || !Number.isFinite(e) || typeof r !== 'string') return undefined;
  return { sessionId: s, userId: u, username: n, expiresAt: e, nonce: r };
}
