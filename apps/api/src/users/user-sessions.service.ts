import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { UserRepository } from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { BrowserSessions } from '../auth/browser-sessions';
import { auditActorOf, type Principal, type RequestOrigin } from '../auth/principal';
import { type SessionView, sessionViewOf } from '../auth/session-view';
import { ChangeRunner } from '../changes/change-runner';
import { type Clock } from '../time/clock';

/**
 * An admin's view of another user's sessions: console cookies and RustDesk client logins alike.
 * Ending a client login makes that client's next call answer 401, and the client signs out.
 */
@Injectable()
export class UserSessionsService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: BrowserSessions,
    private readonly changes: ChangeRunner,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async list(userId: string, principal: Principal): Promise<SessionView[]> {
    if ((await this.users.findById(userId)) === null) throw new NotFoundException('No such user');
    const sessions = await this.sessions.listActive(userId);
    return sessions.map((session) => sessionViewOf(session, principal.sessionId));
  }

  /** Another user's session id, or an ended one, is answered like an unknown one: 404. */
  async revoke(
    userId: string,
    sessionId: string,
    principal: Principal,
    origin: RequestOrigin,
  ): Promise<void> {
    const now = this.clock.now();
    const revoked = await this.changes.run(async (repositories) => {
      const done = await repositories.sessions.revoke(sessionId, now, userId);
      return {
        result: done,
        audit: done
          ? [
              {
                ...auditActorOf(principal),
                action: 'user.session_revoked',
                targetType: 'user',
                targetId: userId,
                ip: origin.ip,
                details: { sessionId, userAgent: origin.userAgent },
              },
            ]
          : [],
      };
    });
    if (!revoked) throw new NotFoundException('No such session');
  }
}
