import { type IncomingHttpHeaders } from 'node:http';

import { Injectable } from '@nestjs/common';
import { UserRepository } from '@switchboard/data-access';

import { BrowserSessions } from '../auth/browser-sessions';
import { type Permission, roleHas, roleMayUse } from '../auth/permissions';
import { SESSION_COOKIE } from '../auth/session-cookies';
import { LIVE_MESSAGE_PERMISSIONS, LIVE_MESSAGE_TYPES, type LiveMessageType } from './live-message';
import { LiveOriginPolicy } from './live-origin-policy';

/** The console user a live connection belongs to, settled before the upgrade. */
export interface LiveViewer {
  readonly userId: string;
  readonly username: string;
  readonly role: string;
  readonly sessionId: string;
  /** The session cookie's token, to look the session up again on every heartbeat tick. */
  readonly sessionToken: string;
  /** The frame types its role may receive (LIVE_MESSAGE_PERMISSIONS). */
  readonly receives: ReadonlySet<LiveMessageType>;
}

export type LiveAdmission =
  | { readonly admitted: true; readonly viewer: LiveViewer }
  | { readonly admitted: false; readonly status: 401 | 403; readonly reason: string };

/** Whether a session still carries a live connection (checked on every heartbeat tick). */
export type SessionState = 'live' | 'ended' | 'access-changed';

/**
 * Who may open the live stream: a request from the console's origin carrying a live browser session
 * whose role may use the console. Only the session cookie counts: bearer tokens and API keys are for
 * automation, which has the REST API; the stream exists for the console.
 */
@Injectable()
export class LiveAdmissionService {
  constructor(
    private readonly origins: LiveOriginPolicy,
    private readonly browserSessions: BrowserSessions,
    private readonly users: UserRepository,
  ) {}

  async admit(headers: IncomingHttpHeaders): Promise<LiveAdmission> {
    // Origin first: a foreign page learns nothing about the session it may have carried along.
    if (!this.origins.allows(headers)) {
      return { admitted: false, status: 403, reason: 'Origin check failed' };
    }
    const token = sessionCookieOf(headers.cookie);
    const live = token === undefined ? null : await this.browserSessions.resolve(token);
    if (token === undefined || live === null) {
      return { admitted: false, status: 401, reason: 'Session expired or signed out' };
    }
    const { user, session } = live;
    if (!roleMayUse(user.role, 'panel')) {
      return { admitted: false, status: 403, reason: `The ${user.role} role cannot use the console` };
    }
    if (user.passwordMustChange) {
      return { admitted: false, status: 403, reason: 'Password change required' };
    }
    const receives = receivesWith((permission) => roleHas(user.role, permission));
    return {
      admitted: true,
      viewer: {
        userId: user.id,
        username: user.username,
        role: user.role,
        sessionId: session.id,
        sessionToken: token,
        receives,
      },
    };
  }

  /**
   * Reads the session and user again without touching the session (BrowserSessions.findLive): an open
   * stream alone must not keep an idle console signed in. `live` only while the session is, and the
   * user's role and must-change state are still what the connection was admitted with.
   */
  async sessionState(viewer: LiveViewer): Promise<SessionState> {
    const session = await this.browserSessions.findLive(viewer.sessionToken);
    if (session === null) return 'ended';
    const user = await this.users.findById(session.userId);
    if (user === null || user.disabled) return 'ended';
    if (user.role !== viewer.role || user.passwordMustChange) return 'access-changed';
    return 'live';
  }
}

/** The frame types a holder of these permissions may receive (LIVE_MESSAGE_PERMISSIONS). */
export function receivesWith(has: (permission: Permission) => boolean): ReadonlySet<LiveMessageType> {
  return new Set(
    LIVE_MESSAGE_TYPES.filter((type) => {
      const permission = LIVE_MESSAGE_PERMISSIONS[type];
      return permission === null || has(permission);
    }),
  );
}

/** The `__Host-sb_session` value from a raw Cookie header (the upgrade never passes through Fastify). */
export function sessionCookieOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    if (part.slice(0, separator).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(separator + 1).trim();
    // Our tokens are base64url; anything else is not one of ours.
    return /^[A-Za-z0-9_-]{1,256}$/.test(value) ? value : undefined;
  }
  return undefined;
}
