import { createHmac } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import {
  type SessionRecord,
  SessionRepository,
  type UserRecord,
  UserRepository,
} from '@switchboard/data-access';

import { API_CLOCK, API_CONFIG, API_RANDOM, API_SECRETS } from '../app.tokens';
import { type ApiConfig } from '../config';
import { type Repositories } from '../database/repositories';
import { type RandomSource } from '../random/random-source';
import { type ApiSecrets } from '../secrets';
import { type Clock } from '../time/clock';
import { newOpaqueToken, secretsEqual, sha256 } from './opaque-token';
import { type RequestOrigin } from './principal';
import { type SessionCookieValues } from './session-cookies';

export interface OpenedSession extends SessionCookieValues {
  readonly session: SessionRecord;
}

export interface LiveSession {
  readonly session: SessionRecord;
  readonly user: UserRecord;
}

/**
 * Browser sessions: a random token in the cookie, only its SHA-256 in the sessions table.
 * Lifetime (config): idle timeout for every session (last_seen_at, written at most once per touch
 * interval); absolute life of SESSION_TTL_SECONDS, or SESSION_REMEMBER_ME_TTL_SECONDS with
 * "remember me" (whose cookies then carry that Max-Age instead of dying with the browser).
 * The CSRF token is derived from the session token with a server key, so it is bound to the session
 * without a column of its own and cannot be computed by anyone who only sees the database.
 */
@Injectable()
export class BrowserSessions {
  private readonly csrfKey: Buffer;

  constructor(
    private readonly sessions: SessionRepository,
    private readonly users: UserRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_RANDOM) private readonly random: RandomSource,
    @Inject(API_SECRETS) secrets: ApiSecrets,
  ) {
    this.csrfKey = createHmac('sha256', secrets.jwtSecret).update('switchboard csrf key').digest();
  }

  /** A new session (a new token at every login: no fixation), written inside the login's transaction. */
  async open(
    repositories: Repositories,
    user: Pick<UserRecord, 'id'>,
    rememberMe: boolean,
    origin: RequestOrigin,
  ): Promise<OpenedSession> {
    const now = this.clock.now();
    const token = newOpaqueToken(this.random);
    const lifetimeSeconds = rememberMe
      ? this.config.SESSION_REMEMBER_ME_TTL_SECONDS
      : this.config.SESSION_TTL_SECONDS;
    const session = await repositories.sessions.create({
      userId: user.id,
      tokenHash: sha256(token),
      rememberMe,
      ip: origin.ip,
      userAgent: origin.userAgent,
      now,
      expiresAt: new Date(now.getTime() + lifetimeSeconds * 1000),
    });
    return {
      session,
      token,
      csrfToken: this.csrfTokenFor(token),
      ...(rememberMe ? { maxAgeSeconds: lifetimeSeconds } : {}),
    };
  }

  /** The live session a cookie token names, with its user; null if unknown, revoked, expired or idle. */
  async resolve(token: string): Promise<LiveSession | null> {
    const session = await this.sessions.findByTokenHash(sha256(token));
    if (session === null || !this.isLive(session)) return null;
    const user = await this.users.findById(session.userId);
    if (user === null || user.disabled) return null;
    const now = this.clock.now();
    const touchInterval = this.config.SESSION_TOUCH_INTERVAL_SECONDS * 1000;
    if (now.getTime() - session.lastSeenAt.getTime() >= touchInterval) {
      await this.sessions.touch(session.id, now, new Date(now.getTime() - touchInterval));
    }
    return { session, user };
  }

  /** The session a cookie token names if it is still live (for logout and login's fixation guard). */
  async findLive(token: string): Promise<SessionRecord | null> {
    const session = await this.sessions.findByTokenHash(sha256(token));
    return session !== null && this.isLive(session) ? session : null;
  }

  /** The user's sessions that still work now, newest activity first. */
  listActive(userId: string): Promise<SessionRecord[]> {
    const now = this.clock.now();
    return this.sessions.listActive(userId, now, this.idleCutoff(now));
  }

  csrfTokenFor(token: string): string {
    return createHmac('sha256', this.csrfKey).update(token).digest('base64url');
  }

  /** Constant time: the presented CSRF token is the one bound to this session token. */
  csrfMatches(token: string, presented: string): boolean {
    return secretsEqual(this.csrfTokenFor(token), presented);
  }

  private isLive(session: SessionRecord): boolean {
    const now = this.clock.now();
    return (
      session.kind === 'browser' &&
      session.revokedAt === null &&
      session.expiresAt.getTime() > now.getTime() &&
      session.lastSeenAt.getTime() > this.idleCutoff(now).getTime()
    );
  }

  private idleCutoff(now: Date): Date {
    return new Date(now.getTime() - this.config.SESSION_IDLE_TIMEOUT_SECONDS * 1000);
  }
}
