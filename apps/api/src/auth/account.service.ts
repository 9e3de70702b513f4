import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { SessionRepository, UserRepository } from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { ChangeRunner } from '../changes/change-runner';
import { type Clock } from '../time/clock';
import { authAuditEntry } from './auth-audit';
import { type Me, type TokenPair } from './auth-responses';
import { BrowserSessions } from './browser-sessions';
import { type SessionView, sessionViewOf } from './session-view';
import { PasswordHasher } from './password-hasher';
import { ROLE_GRANTS } from './permissions';
import { eventActorOf, type Principal, type RequestOrigin } from './principal';
import { Reauthentication } from './reauthentication';
import { RefreshTokenService } from './refresh-tokens.service';

/** What a password change answers: a bearer caller's old tokens died with it, so it gets new ones. */
export type PasswordChanged = { readonly tokens?: TokenPair };

/** The signed-in user's own account: profile, sessions (console and RustDesk client), password. */
@Injectable()
export class AccountService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly browserSessions: BrowserSessions,
    private readonly hasher: PasswordHasher,
    private readonly reauth: Reauthentication,
    private readonly refreshTokens: RefreshTokenService,
    private readonly changes: ChangeRunner,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async me(principal: Principal): Promise<Me> {
    const user = await this.users.findById(principal.userId);
    if (user === null) throw new NotFoundException('User not found');
    return {
      id: user.id,
      username: user.username,
      displayName: user.displayName,
      email: user.email,
      role: principal.role,
      totpEnabled: user.totpEnabled,
      passwordMustChange: user.passwordMustChange,
      channel: principal.channel,
      credential: principal.credential,
      permissions: [...ROLE_GRANTS[principal.role].permissions],
    };
  }

  async listSessions(principal: Principal): Promise<SessionView[]> {
    const sessions = await this.browserSessions.listActive(principal.userId);
    return sessions.map((session) => sessionViewOf(session, principal.sessionId));
  }

  /** Another user's session id is answered exactly like an unknown one: 404. */
  async revokeSession(principal: Principal, sessionId: string, origin: RequestOrigin): Promise<void> {
    const now = this.clock.now();
    const revoked = await this.changes.run(async (repositories) => {
      const done = await repositories.sessions.revoke(sessionId, now, principal.userId);
      return {
        result: done,
        audit: done
          ? [
              authAuditEntry('auth.session_revoked', {
                userId: principal.userId,
                origin,
                details: { sessionId },
              }),
            ]
          : [],
      };
    });
    if (!revoked) throw new NotFoundException('No such session');
  }

  /**
   * A new password: the must-change flag clears, every other session and refresh token is revoked and
   * older access tokens die (their iat predates password_changed_at); the session it was made from
   * stays signed in. Other replicas hear UserSessionsRevoked.
   */
  async changePassword(
    principal: Principal,
    passwords: { currentPassword: string; newPassword: string },
    origin: RequestOrigin,
  ): Promise<PasswordChanged> {
    const user = await this.reauth.personOf(principal);
    return this.reauth.withProof(
      user,
      { password: passwords.currentPassword },
      { action: 'password_change', origin },
      async () => {
        if (passwords.newPassword === passwords.currentPassword) {
          throw new BadRequestException('newPassword: must differ from the current password');
        }
        const passwordHash = await this.hasher.hash(passwords.newPassword);
        const now = this.clock.now();
        return this.changes.run(async (repositories) => {
          await repositories.credentials.changePassword(user.id, passwordHash, now);
          const revoked = await repositories.users.revokeLogins(
            user.id,
            principal.sessionId === undefined ? {} : { sessionId: principal.sessionId },
            now,
          );
          const tokens =
            principal.credential === 'access_token'
              ? await this.refreshTokens.issue(repositories, user, origin)
              : undefined;
          return {
            result: tokens === undefined ? {} : { tokens: withoutFamily(tokens) },
            audit: [
              authAuditEntry('auth.password_changed', {
                userId: user.id,
                origin,
                details: { revokedSessions: revoked.sessions, revokedRefreshTokens: revoked.refreshTokens },
              }),
            ],
            events: [
              { type: 'UserSessionsRevoked', payload: { userId: user.id, actor: eventActorOf(principal) } },
            ],
          };
        });
      },
    );
  }
}

function withoutFamily({ familyId: _familyId, ...pair }: TokenPair & { familyId: string }): TokenPair {
  return pair;
}
