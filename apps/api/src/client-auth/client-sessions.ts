import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import {
  type SessionClient,
  type SessionRecord,
  SessionRepository,
  type UserRecord,
  UserRepository,
} from '@switchboard/data-access';
import {
  encodeClientAccessToken,
  type EventSigningKey,
  readClientAccessTokenClaims,
} from '@switchboard/events';
import { type FastifyRequest } from 'fastify';

import { API_CLOCK, API_CONFIG, API_EVENT_SIGNING_KEY, API_RANDOM } from '../app.tokens';
import { sha256 } from '../auth/opaque-token';
import { type RequestOrigin } from '../auth/principal';
import { tokensIssuedBefore } from '../auth/token-cutoff';
import { type ApiConfig } from '../config';
import { type Repositories } from '../database/repositories';
import { type RandomSource } from '../random/random-source';
import { type Clock } from '../time/clock';
import { type ClientCaller } from './client-caller';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The one answer for every unusable token: the Sciter client logs out on exactly this text. */
export const INVALID_CLIENT_TOKEN = 'Invalid token';

export interface OpenedClientSession {
  readonly session: SessionRecord;
  /** Shown once, in the login answer; the row keeps its SHA-256. */
  readonly accessToken: string;
}

export interface LiveClientSession {
  readonly session: SessionRecord;
  readonly user: UserRecord;
}

/**
 * RustDesk client logins: rows of the sessions table with kind `client`, so the operator lists and
 * revokes them with the browser sessions. The client keeps its token until a call answers 401 (it
 * has no refresh), so a client session has an absolute life (CLIENT_SESSION_TTL_SECONDS) and no idle
 * timeout. The token is signed (libs/events client-access-token.ts) so that signal can tell who is
 * connecting without the database; here only the stored hash counts, which is what revocation ends.
 */
@Injectable()
export class ClientSessions {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly users: UserRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_RANDOM) private readonly random: RandomSource,
    @Inject(API_EVENT_SIGNING_KEY) private readonly signingKey: EventSigningKey,
  ) {}

  /** A new client login, written inside the login's transaction. */
  async open(
    repositories: Repositories,
    user: Pick<UserRecord, 'id' | 'username'>,
    client: SessionClient,
    origin: RequestOrigin,
  ): Promise<OpenedClientSession> {
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.CLIENT_SESSION_TTL_SECONDS * 1000);
    // The row's id is chosen here because the token names it.
    const sessionId = this.random.uuid();
    const accessToken = encodeClientAccessToken(
      {
        sessionId,
        userId: user.id,
        username: user.username,
        expiresAt: expiresAt.getTime(),
        nonce: this.random.bytes(16).toString('base64url'),
      },
      this.signingKey,
    );
    const session = await repositories.sessions.create({
      id: sessionId,
      kind: 'client',
      client,
      userId: user.id,
      tokenHash: sha256(accessToken),
      rememberMe: false,
      ip: origin.ip,
      userAgent: origin.userAgent,
      now,
      expiresAt,
    });
    return { session, accessToken };
  }

  /** The live client login a token names, with its active user; null for anything else. */
  async resolve(accessToken: string): Promise<LiveClientSession | null> {
    // The user the token names is read alongside the session, saving a round trip on every client
    // call; only the session row, found by the token's hash, says whose token it is.
    // Unsigned text: only a well-formed uuid is worth a query (anything else would be a database error).
    const claimed = readClientAccessTokenClaims(accessToken)?.userId;
    const claimedUserId = claimed !== undefined && UUID.test(claimed) ? claimed : undefined;
    const [session, claimedUser] = await Promise.all([
      this.sessions.findByTokenHash(sha256(accessToken)),
      claimedUserId === undefined ? null : this.users.findById(claimedUserId),
    ]);
    const now = this.clock.now();
    if (
      session === null ||
      session.kind !== 'client' ||
      session.revokedAt !== null ||
      session.expiresAt.getTime() <= now.getTime()
    ) {
      return null;
    }
    const user = claimedUser?.id === session.userId ? claimedUser : await this.users.findById(session.userId);
    if (user === null || user.disabled || session.createdAt.getTime() < tokensIssuedBefore(user)) return null;
    const touchInterval = this.config.SESSION_TOUCH_INTERVAL_SECONDS * 1000;
    if (now.getTime() - session.lastSeenAt.getTime() >= touchInterval) {
      await this.sessions.touch(session.id, now, new Date(now.getTime() - touchInterval));
    }
    return { session, user };
  }

  /** The caller of a `@ClientUser()` route, or 401 `Invalid token`. */
  async authenticate(request: FastifyRequest): Promise<ClientCaller> {
    const token = bearerTokenOf(request);
    const live = token === undefined ? null : await this.resolve(token);
    if (live === null) throw new UnauthorizedException(INVALID_CLIENT_TOKEN);
    return callerOf(live);
  }
}

export function callerOf({ session, user }: LiveClientSession): ClientCaller {
  return {
    userId: user.id,
    username: user.username,
    role: user.role,
    isAdmin: user.role === 'admin',
    sessionId: session.id,
    clientId: session.client?.id ?? null,
  };
}

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), if any. */
export function bearerTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
