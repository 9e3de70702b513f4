import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';

import { API_CLOCK } from '../app.tokens';
import { ChangeRunner } from '../changes/change-runner';
import { type Clock } from '../time/clock';
import { authAuditEntry } from './auth-audit';
import { BrowserSessions } from './browser-sessions';
import { type RequestOrigin } from './principal';
import { RefreshTokenService } from './refresh-tokens.service';
import { SessionAuthenticator } from './session.authenticator';
import { sessionTokenOf } from './session-cookies';

/**
 * Logout. Public, because its credential is the thing it ends: a refresh token (automation), or the
 * console's session cookie, which must then pass the same CSRF/Origin checks as any state change,
 * so a foreign page cannot sign the console out. A cookie whose session is already over is simply
 * cleared; nothing at all to end is 401.
 */
@Injectable()
export class LogoutService {
  constructor(
    private readonly refreshTokens: RefreshTokenService,
    private readonly sessions: BrowserSessions,
    private readonly sessionAuthenticator: SessionAuthenticator,
    private readonly changes: ChangeRunner,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async logout(
    input: { refreshToken?: string | undefined; request: FastifyRequest },
    origin: RequestOrigin,
  ): Promise<void> {
    if (input.refreshToken !== undefined) {
      await this.refreshTokens.revokeFamilyOf(input.refreshToken, origin);
      return;
    }
    const token = sessionTokenOf(input.request);
    if (token === undefined) throw new UnauthorizedException('No session or refresh token to sign out');
    this.sessionAuthenticator.checkStateChange(input.request);
    const session = await this.sessions.findLive(token);
    if (session === null) return;
    const now = this.clock.now();
    await this.changes.run(async (repositories) => {
      const ended = await repositories.sessions.revoke(session.id, now);
      return {
        result: undefined,
        audit: ended
          ? [
              authAuditEntry('auth.logout', {
                userId: session.userId,
                origin,
                details: { channel: 'panel', sessionId: session.id },
              }),
            ]
          : [],
      };
    });
  }
}
