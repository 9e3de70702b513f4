import { Prisma, type PrismaClient, type User } from '../generated/prisma/client';

export const USER_ROLES = ['admin', 'operator', 'viewer', 'pro'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** A user row as the rest of the code sees it: no Prisma types cross this boundary. */
export interface UserRecord {
  id: string;
  /** Always lower-case. */
  username: string;
  displayName: string | null;
  email: string | null;
  /** argon2id PHC string. */
  passwordHash: string;
  role: UserRole;
  disabled: boolean;
  totpEnabled: boolean;
  /** The password was chosen by someone else; the next login must replace it. */
  passwordMustChange: boolean;
  passwordChangedAt: Date;
  /** When all the user's logins were last ended (revokeLogins); null if never. */
  loginsRevokedAt: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  role: UserRole;
  displayName?: string;
  email?: string;
  passwordMustChange?: boolean;
}

/** Another user already has this username (the unique index said so, so it holds under races too). */
export class UsernameTakenError extends Error {
  constructor(readonly username: string) {
    super(`A user named "${username}" already exists`);
    this.name = 'UsernameTakenError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Prisma's code for a unique constraint violation.
const UNIQUE_VIOLATION = 'P2002';

export class UserRepository {
  /** Accepts the client or an interactive transaction, so callers can pair a write with its audit entry. */
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  /** Admins who can sign in (disabled ones do not count: they cannot administer anything). */
  countAdmins(): Promise<number> {
    return this.db.user.count({ where: { role: 'admin', disabled: false } });
  }

  async findById(id: string): Promise<UserRecord | null> {
    // Ids come from tokens and URLs; a malformed one is simply nobody (Postgres would reject the cast).
    if (!UUID.test(id)) return null;
    const row = await this.db.user.findUnique({ where: { id } });
    return row === null ? null : toRecord(row);
  }

  /**
   * Ends a user's logins: browser sessions and refresh-token families, except the one the caller keeps
   * (a password change keeps the session it was made from), and stamps logins_revoked_at, which kills
   * every access JWT issued before it (BearerTokenAuthenticator compares their iat), so re-enabling
   * a disabled user does not revive the tokens it had.
   * Returns how many sessions and refresh tokens were revoked.
   */
  async revokeLogins(
    userId: string,
    keep: { sessionId?: string; refreshFamilyId?: string } = {},
    now: Date = new Date(),
  ): Promise<{ sessions: number; refreshTokens: number }> {
    const sessions = await this.db.session.updateMany({
      where: { userId, revokedAt: null, ...(keep.sessionId ? { id: { not: keep.sessionId } } : {}) },
      data: { revokedAt: now },
    });
    const refreshTokens = await this.db.refreshToken.updateMany({
      where: {
        userId,
        revokedAt: null,
        ...(keep.refreshFamilyId ? { familyId: { not: keep.refreshFamilyId } } : {}),
      },
      data: { revokedAt: now },
    });
    await this.db.user.update({ where: { id: userId }, data: { loginsRevokedAt: now } });
    return { sessions: sessions.count, refreshTokens: refreshTokens.count };
  }

  /** Usernames are stored lower-case, so the lookup is case-insensitive by construction. */
  async findByUsername(username: string): Promise<UserRecord | null> {
    const row = await this.db.user.findUnique({ where: { username: username.toLowerCase() } });
    return row === null ? null : toRecord(row);
  }

  async create(user: NewUser): Promise<UserRecord> {
    const username = user.username.toLowerCase();
    try {
      const row = await this.db.user.create({
        data: {
          username,
          passwordHash: user.passwordHash,
          role: user.role,
          displayName: user.displayName ?? null,
          email: user.email ?? null,
          passwordMustChange: user.passwordMustChange ?? false,
        },
      });
      return toRecord(row);
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === UNIQUE_VIOLATION) {
        throw new UsernameTakenError(username);
      }
      throw error;
    }
  }
}

function toRecord(row: User): UserRecord {
  return {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    email: row.email,
    passwordHash: row.passwordHash,
    role: row.role,
    disabled: row.disabled,
    totpEnabled: row.totpEnabled,
    passwordMustChange: row.passwordMustChange,
    passwordChangedAt: row.passwordChangedAt,
    loginsRevokedAt: row.loginsRevokedAt,
    lastLoginAt: row.lastLoginAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
