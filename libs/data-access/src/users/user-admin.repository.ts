import { Prisma, type PrismaClient } from '../generated/prisma/client';
import {
  type CountRow,
  countUsersSql,
  enabledAdminIdsSql,
  lockAdminRemovalSql,
  lockUserSql,
  searchUserIdsSql,
  type UserIdRow,
  type UserSearchFilter,
} from './user-admin.sql';
import { type UserRole, UsernameTakenError } from './user.repository';

/**
 * A user as administration shows it. It has no password hash and no TOTP secret: they are never
 * selected, so no response can leak them by accident.
 */
export interface ManagedUser {
  id: string;
  username: string;
  displayName: string | null;
  email: string | null;
  note: string | null;
  role: UserRole;
  disabled: boolean;
  totpEnabled: boolean;
  passwordMustChange: boolean;
  passwordChangedAt: Date;
  lastLoginAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type UserListQuery = UserSearchFilter & { offset: number; limit: number };

export interface UserPage {
  items: ManagedUser[];
  total: number;
}

export interface NewManagedUser {
  username: string;
  passwordHash: string;
  role: UserRole;
  displayName: string | null;
  email: string | null;
  note: string | null;
  passwordMustChange: boolean;
}

/** The administrable profile fields; an absent field is left as it is. */
export interface UserProfileChange {
  role?: UserRole;
  displayName?: string | null;
  email?: string | null;
  note?: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNIQUE_VIOLATION = 'P2002';
// Prisma's "record to update/delete not found".
const NOT_FOUND = 'P2025';

const MANAGED_USER = {
  id: true,
  username: true,
  displayName: true,
  email: true,
  note: true,
  role: true,
  disabled: true,
  totpEnabled: true,
  passwordMustChange: true,
  passwordChangedAt: true,
  lastLoginAt: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Prisma.UserSelect;

/**
 * Users administration (list, search, create, edit, disable, delete) and the row locks that keep
 * the last enabled admin in place. Accepts the client or a transaction.
 */
export class UserAdminRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async list(query: UserListQuery): Promise<UserPage> {
    const [ids, counts] = await Promise.all([
      this.db.$queryRaw<UserIdRow[]>(searchUserIdsSql(query, query.offset, query.limit)),
      this.db.$queryRaw<CountRow[]>(countUsersSql(query)),
    ]);
    const rows = await this.db.user.findMany({
      where: { id: { in: ids.map((row) => row.id) } },
      select: MANAGED_USER,
      orderBy: { username: 'asc' },
    });
    return { items: rows, total: Number(counts[0]?.total ?? 0n) };
  }

  async findById(id: string): Promise<ManagedUser | null> {
    if (!UUID.test(id)) return null;
    return this.db.user.findUnique({ where: { id }, select: MANAGED_USER });
  }

  /** Like findById, and holds the row's lock until the transaction ends. */
  async findByIdForUpdate(id: string): Promise<ManagedUser | null> {
    if (!UUID.test(id)) return null;
    const locked = await this.db.$queryRaw<UserIdRow[]>(lockUserSql(id));
    return locked.length === 0 ? null : this.findById(id);
  }

  /**
   * Takes the admin-removal lock for the rest of the transaction (which must be READ COMMITTED, the
   * default) and returns the enabled admins as of that moment: no other removal can commit until we
   * end, so the answer still holds when we commit. Take it before any row lock.
   */
  async lockAdminRemoval(): Promise<string[]> {
    await this.db.$executeRaw(lockAdminRemovalSql());
    const rows = await this.db.$queryRaw<UserIdRow[]>(enabledAdminIdsSql());
    return rows.map((row) => row.id);
  }

  async create(user: NewManagedUser): Promise<ManagedUser> {
    const username = user.username.toLowerCase();
    try {
      return await this.db.user.create({ data: { ...user, username }, select: MANAGED_USER });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === UNIQUE_VIOLATION) {
        throw new UsernameTakenError(username);
      }
      throw error;
    }
  }

  async update(id: string, change: UserProfileChange): Promise<ManagedUser> {
    return this.db.user.update({ where: { id }, data: change, select: MANAGED_USER });
  }

  async setDisabled(id: string, disabled: boolean): Promise<ManagedUser> {
    return this.db.user.update({ where: { id }, data: { disabled }, select: MANAGED_USER });
  }

  /**
   * Replaces the password. Moving password_changed_at kills every access token issued before it
   * (BearerTokenAuthenticator compares their iat with it).
   */
  async setPassword(id: string, passwordHash: string, mustChange: boolean, now: Date): Promise<ManagedUser> {
    return this.db.user.update({
      where: { id },
      data: { passwordHash, passwordMustChange: mustChange, passwordChangedAt: now },
      select: MANAGED_USER,
    });
  }

  /** Deletes the row (sessions, refresh tokens and recovery codes cascade); false when it was gone. */
  async delete(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    try {
      await this.db.user.delete({ where: { id } });
      return true;
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === NOT_FOUND) return false;
      throw error;
    }
  }
}
