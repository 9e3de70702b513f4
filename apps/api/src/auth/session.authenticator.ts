import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';

import { type Authenticator } from './authenticator';
import { BrowserSessions } from './browser-sessions';
import { OriginPolicy } from './origin-policy';
import { type Principal } from './principal';
import { CSRF_COOKIE, CSRF_HEADER, sessionTokenOf } from './session-cookies';

/**
 * The console's cookie session (`__Host-sb_session`). Every state change must also pass the CSRF double
 * submit (cookie `__Host-sb_csrf` = header `X-CSRF-Token` = the token bound to this session) and the Origin
 * check; SameSite=Lax alone leaves older browsers and same-site subdomains exposed.
 */
@Injectable()
export class SessionAuthenticator implements Authenticator {
  constructor(
    private readonly sessions: BrowserSessions,
    private readonly origins: OriginPolicy,
  ) {}

  presentIn(request: FastifyRequest): boolean {
    return sessionTokenOf(request) !== undefined;
  }

  async authenticate(request: FastifyRequest): Promise<Principal> {
    const token = sessionTokenOf(request);
    const live = token === undefined ? null : await this.sessions.resolve(token);
    if (live === null) throw new UnauthorizedException('Session expired or signed out');
    const { session, user } = live;
    return {
      userId: user.id,
      username: user.username,
      role: user.role,
      channel: 'panel',
      credential: 'session',
      sessionId: session.id,
      passwordMustChange: user.passwordMustChange,
    };
  }

  checkStateChange(request: FastifyRequest): void {
    this.checkCsrf(request);
    this.origins.check(request);
  }

  /** Throws 403 unless header, cookie and session agree on the CSRF token. */
  checkCsrf(request: FastifyRequest): void {
    const token = sessionTokenOf(request);
    const header = request.headers[CSRF_HEADER];
    const cookie = request.cookies?.[CSRF_COOKIE];
    if (typeof header !== 'string' || header === '' || typeof cookie !== 'string' || cookie === '') {
      throw new ForbiddenException('CSRF check failed: send the __Host-sb_csrf cookie value in X-CSRF-Token');
    }
    // Both comparisons always run (constant time each), so timing does not tell which one failed.
    const headerMatches = token !== undefined && this.sessions.csrfMatches(token, header);
    const cookieMatches = token !== undefined && this.sessions.csrfMatches(token, cookie);
    if (!headerMatches || !cookieMatches) {
      throw new ForbiddenException('CSRF check failed: the token does not match this session');
    }
  }
}
