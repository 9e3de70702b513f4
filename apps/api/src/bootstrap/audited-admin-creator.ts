import {
  type AuditRepository,
  type NewUser,
  type PrismaClient,
  type UserRecord,
  UserRepository,
} from '@switchboard/data-access';

export const BOOTSTRAP_ADMIN_ACTION = 'user.bootstrap_admin';

export interface AdminCreator {
  /** `passwordSource` is recorded in the audit entry (never the password itself). */
  create(user: NewUser, passwordSource: 'generated' | 'environment'): Promise<UserRecord>;
}

/** Writes the admin row and its audit entry in one transaction: neither can exist without the other. */
export class AuditedAdminCreator implements AdminCreator {
  constructor(
    private readonly db: PrismaClient,
    private readonly audit: AuditRepository,
  ) {}

  create(user: NewUser, passwordSource: 'generated' | 'environment'): Promise<UserRecord> {
    return this.db.$transaction(async (tx) => {
      const admin = await new UserRepository(tx).create(user);
      await this.audit.appendInTransaction(tx, [
        {
          actorType: 'system',
          actorId: 'bootstrap',
          action: BOOTSTRAP_ADMIN_ACTION,
          targetType: 'user',
          targetId: admin.id,
          details: { username: admin.username, role: admin.role, passwordSource },
        },
      ]);
      return admin;
    });
  }
}
