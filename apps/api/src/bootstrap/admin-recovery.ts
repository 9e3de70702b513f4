import {
  type AuditRepository,
  type PrismaClient,
  RecoveryCodeRepository,
  UserAdminRepository,
  UserCredentialRepository,
  UserRepository,
} from '@switchboard/data-access';

import { type PasswordHasher } from '../auth/password-hasher';
import { type Clock, systemClock } from '../time/clock';
import { type PasswordGenerator } from './password-generator';

export const ADMIN_RESET_ACTION = 'user.admin_reset';

export interface AdminResetResult {
  readonly userId: string;
  readonly username: string;
  /** Show it once, never store it: the first sign-in must replace it. */
  readonly oneTimePassword: string;
  readonly totpCleared: boolean;
  readonly wasDisabled: boolean;
  readonly revoked: { sessions: number; refreshTokens: number };
}

/** The reset cannot proceed without an operator's decision (unknown user, not an admin). */
export class AdminRecoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminRecoveryError';
  }
}

/**
 * `reset-admin <username>`: the way back in for whoever runs the server when every admin is locked
 * out (a lost authenticator, a forgotten password). In one transaction with its audit entry: a new
 * one-time password, the second factor cleared, the account enabled, every login ended. Only an
 * admin's account: this is recovery, not a way to promote or take over anyone else's.
 */
export class AdminRecovery {
  constructor(
    private readonly db: PrismaClient,
    private readonly audit: AuditRepository,
    private readonly hasher: PasswordHasher,
    private readonly passwords: PasswordGenerator,
    private readonly clock: Clock = systemClock,
  ) {}

  async resetAdmin(username: string): Promise<AdminResetResult> {
    const found = await new UserRepository(this.db).findByUsername(username);
    if (found === null) throw new AdminRecoveryError(`There is no user "${username.toLowerCase()}".`);
    const oneTimePassword = this.passwords.generate();
    const passwordHash = await this.hasher.hash(oneTimePassword);

    return this.db.$transaction(async (tx) => {
      const admins = new UserAdminRepository(tx);
      const user = await admins.findByIdForUpdate(found.id);
      if (user === null) throw new AdminRecoveryError(`There is no user "${found.username}".`);
      if (user.role !== 'admin') {
        throw new AdminRecoveryError(
          `User "${user.username}" is not an admin; reset-admin only recovers admins.`,
        );
      }
      const now = this.clock.now();
      await admins.setPassword(user.id, passwordHash, true, now);
      if (user.disabled) await admins.setDisabled(user.id, false);
      await new UserCredentialRepository(tx).disableTotp(user.id);
      await new RecoveryCodeRepository(tx).deleteAll(user.id);
      const revoked = await new UserRepository(tx).revokeLogins(user.id, {}, now);
      const result = {
        userId: user.id,
        username: user.username,
        oneTimePassword,
        totpCleared: user.totpEnabled,
        wasDisabled: user.disabled,
        revoked,
      };
      await this.audit.appendInTransaction(tx, [
        {
          actorType: 'system',
          actorId: 'reset-admin',
          action: ADMIN_RESET_ACTION,
          targetType: 'user',
          targetId: user.id,
          details: {
            username: user.username,
            totpCleared: result.totpCleared,
            wasDisabled: result.wasDisabled,
            revoked,
          },
        },
      ]);
      return result;
    });
  }
}
