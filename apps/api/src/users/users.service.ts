import { ConflictException, ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import {
  type AuditAppendInput,
  type ManagedUser,
  UserAdminRepository,
  type UserProfileChange,
  type UserRole,
  UsernameTakenError,
} from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { PasswordHasher } from '../auth/password-hasher';
import { auditActorOf, eventActorOf, type Principal, type RequestOrigin } from '../auth/principal';
import { PasswordGenerator } from '../bootstrap/password-generator';
import { ChangeRunner, type Changes, type PendingEvent } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';
import { toUserView, type UserPage, type UserView, type UserWithPassword } from './user.dto';

export interface UserListRequest {
  readonly page: number;
  readonly pageSize: number;
  readonly search?: string;
  readonly role?: UserRole;
  readonly disabled?: boolean;
}

export interface NewUserRequest {
  readonly username: string;
  readonly password?: string;
  readonly role: UserRole;
  readonly displayName?: string | null;
  readonly email?: string | null;
  readonly note?: string | null;
  readonly passwordMustChange?: boolean;
}

type ProfileField = 'displayName' | 'email' | 'note';
const PROFILE_FIELDS: readonly ProfileField[] = ['displayName', 'email', 'note'];

/**
 * Users administration. The one rule with teeth: there is always at least one enabled admin. Every
 * change that could take the last one away (demote, disable, delete) first takes the admin-removal
 * lock in its own transaction (UserAdminRepository.lockAdminRemoval), so two admins removing each
 * other at the same moment are serialised and the second one sees it would leave none.
 */
@Injectable()
export class UsersService {
  constructor(
    @Inject(UserAdminRepository) private readonly users: Repositories['userAdmin'],
    @Inject(ChangeRunner) private readonly changes: Changes,
    private readonly hasher: PasswordHasher,
    private readonly passwords: PasswordGenerator,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async list(request: UserListRequest): Promise<UserPage> {
    const { items, total } = await this.users.list({
      search: request.search,
      role: request.role,
      disabled: request.disabled,
      offset: (request.page - 1) * request.pageSize,
      limit: request.pageSize,
    });
    return { items: items.map(toUserView), total, page: request.page, pageSize: request.pageSize };
  }

  async get(id: string): Promise<UserView> {
    const user = await this.users.findById(id);
    if (user === null) throw new NotFoundException('No such user');
    return toUserView(user);
  }

  async create(
    request: NewUserRequest,
    principal: Principal,
    origin: RequestOrigin,
  ): Promise<UserWithPassword> {
    const generated = request.password === undefined;
    const password = request.password ?? this.passwords.generate();
    const passwordMustChange = generated || (request.passwordMustChange ?? true);
    // argon2 takes a while: hash before the transaction, which then holds nothing while it waits.
    const passwordHash = await this.hasher.hash(password);
    try {
      const user = await this.changes.run(async ({ userAdmin }) => {
        const created = await userAdmin.create({
          username: request.username,
          passwordHash,
          role: request.role,
          displayName: request.displayName ?? null,
          email: request.email ?? null,
          note: request.note ?? null,
          passwordMustChange,
        });
        const audit = entry(principal, origin, 'user.created', created, {
          role: created.role,
          passwordSource: generated ? 'generated' : 'given',
          passwordMustChange,
        });
        return { result: created, audit: [audit] };
      });
      return { user: toUserView(user), ...(generated ? { oneTimePassword: password } : {}) };
    } catch (error) {
      if (error instanceof UsernameTakenError) throw new ConflictException(error.message);
      throw error;
    }
  }

  async update(
    id: string,
    change: UserProfileChange,
    principal: Principal,
    origin: RequestOrigin,
  ): Promise<UserView> {
    const user = await this.changes.run(async (repositories) => {
      const repository = repositories.userAdmin;
      const admins = change.role === undefined ? [] : await repository.lockAdminRemoval();
      const current = await this.lockTarget(repository, id);
      const audit: AuditAppendInput[] = [];
      const data: UserProfileChange = {};

      if (change.role !== undefined && change.role !== current.role) {
        if (change.role !== 'admin') refuseIfLastAdmin(current, admins, 'demoted');
        data.role = change.role;
        audit.push(
          entry(principal, origin, 'user.role_changed', current, { from: current.role, to: change.role }),
        );
      }
      const changes: Record<string, { from: string | null; to: string | null }> = {};
      for (const field of PROFILE_FIELDS) {
        const next = change[field];
        if (next === undefined || next === current[field]) continue;
        data[field] = next;
        changes[field] = { from: current[field], to: next };
      }
      if (Object.keys(changes).length > 0) {
        audit.push(
          entry(principal, origin, 'user.updated', current, { fields: Object.keys(changes), changes }),
        );
      }
      // Nothing differs: no write and no audit entry, the answer is the user as it is.
      const updated = audit.length === 0 ? current : await repository.update(id, data);
      return { result: updated, audit };
    });
    return toUserView(user);
  }

  /** Disables the account and ends its logins; its API keys stop working while it stays disabled. */
  async disable(id: string, principal: Principal, origin: RequestOrigin): Promise<UserView> {
    const user = await this.changes.run(async (repositories) => {
      const repository = repositories.userAdmin;
      const admins = await repository.lockAdminRemoval();
      const current = await this.lockTarget(repository, id);
      if (current.disabled) return { result: current, audit: [] };
      refuseIfLastAdmin(current, admins, 'disabled');
      const disabled = await repository.setDisabled(id, true);
      const revoked = await repositories.users.revokeLogins(id, {}, this.clock.now());
      return {
        result: disabled,
        audit: [entry(principal, origin, 'user.disabled', disabled, { revoked })],
        events: [sessionsRevoked(id, principal)],
      };
    });
    return toUserView(user);
  }

  async enable(id: string, principal: Principal, origin: RequestOrigin): Promise<UserView> {
    const user = await this.changes.run(async (repositories) => {
      const repository = repositories.userAdmin;
      const current = await this.lockTarget(repository, id);
      if (!current.disabled) return { result: current, audit: [] };
      const enabled = await repository.setDisabled(id, false);
      return { result: enabled, audit: [entry(principal, origin, 'user.enabled', enabled)] };
    });
    return toUserView(user);
  }

  /**
   * Sets a password the user must change at next login and ends all their logins (sessions, refresh
   * tokens, and, through password_changed_at, every access token issued before now).
   */
  async resetPassword(
    id: string,
    request: { password?: string },
    principal: Principal,
    origin: RequestOrigin,
  ): Promise<UserWithPassword> {
    if ((await this.users.findById(id)) === null) throw new NotFoundException('No such user');
    const generated = request.password === undefined;
    const password = request.password ?? this.passwords.generate();
    const passwordHash = await this.hasher.hash(password);
    const user = await this.changes.run(async (repositories) => {
      const repository = repositories.userAdmin;
      await this.lockTarget(repository, id);
      const reset = await repository.setPassword(id, passwordHash, true, this.clock.now());
      const revoked = await repositories.users.revokeLogins(id, {}, this.clock.now());
      return {
        result: reset,
        audit: [
          entry(principal, origin, 'user.password_reset', reset, {
            passwordSource: generated ? 'generated' : 'given',
            revoked,
          }),
        ],
        events: [sessionsRevoked(id, principal)],
      };
    });
    return { user: toUserView(user), ...(generated ? { oneTimePassword: password } : {}) };
  }

  /**
   * Turns off another user's second factor (TOTP, a pending enrolment, recovery codes) when they lost
   * it, and ends their logins: whoever held a session of theirs signs in again. The password stays;
   * a reset is a separate, separately audited step. One's own goes through POST
   * /api/v1/auth/totp/disable, which asks for the password and a code.
   */
  async clearSecondFactor(id: string, principal: Principal, origin: RequestOrigin): Promise<UserView> {
    if (id === principal.userId) {
      throw new ForbiddenException('Turn off your own second factor with POST /api/v1/auth/totp/disable');
    }
    const user = await this.changes.run(async (repositories) => {
      const repository = repositories.userAdmin;
      const current = await this.lockTarget(repository, id);
      if (!current.totpEnabled) throw new ConflictException('Two-factor authentication is not enabled');
      await repositories.credentials.disableTotp(id);
      await repositories.recoveryCodes.deleteAll(id);
      const revoked = await repositories.users.revokeLogins(id, {}, this.clock.now());
      const cleared = (await repository.findById(id)) ?? current;
      return {
        result: cleared,
        audit: [entry(principal, origin, 'user.second_factor_cleared', cleared, { revoked })],
        events: [sessionsRevoked(id, principal)],
      };
    });
    return toUserView(user);
  }

  /** Deletes the account; its sessions go with the row and its API keys are revoked first. */
  async delete(id: string, principal: Principal, origin: RequestOrigin): Promise<void> {
    await this.changes.run(async (repositories) => {
      const repository = repositories.userAdmin;
      const admins = await repository.lockAdminRemoval();
      const current = await this.lockTarget(repository, id);
      refuseIfLastAdmin(current, admins, 'deleted');
      const apiKeysRevoked = await repositories.apiKeys.revokeAllOf(id, this.clock.now());
      await repository.delete(id);
      return {
        result: undefined,
        audit: [entry(principal, origin, 'user.deleted', current, { role: current.role, apiKeysRevoked })],
        events: [sessionsRevoked(id, principal)],
      };
    });
  }

  private async lockTarget(repository: Repositories['userAdmin'], id: string): Promise<ManagedUser> {
    const user = await repository.findByIdForUpdate(id);
    if (user === null) throw new NotFoundException('No such user');
    return user;
  }
}

/** `admins` must come from lockAdminRemoval in the same transaction, taken before the target's lock. */
function refuseIfLastAdmin(target: ManagedUser, admins: readonly string[], what: string): void {
  const isEnabledAdmin = target.role === 'admin' && !target.disabled;
  if (isEnabledAdmin && !admins.some((adminId) => adminId !== target.id)) {
    throw new ConflictException(`The last enabled admin cannot be ${what}`);
  }
}

function sessionsRevoked(userId: string, principal: Principal): PendingEvent {
  return { type: 'UserSessionsRevoked', payload: { userId, actor: eventActorOf(principal) } };
}

function entry(
  principal: Principal,
  origin: RequestOrigin,
  action: string,
  user: ManagedUser,
  details: Record<string, NonNullable<AuditAppendInput['details']>[string]> = {},
): AuditAppendInput {
  return {
    ...auditActorOf(principal),
    action,
    targetType: 'user',
    targetId: user.id,
    ip: origin.ip,
    details: { username: user.username, ...details, userAgent: origin.userAgent },
  };
}
