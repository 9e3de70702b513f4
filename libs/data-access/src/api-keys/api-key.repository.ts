import { type ApiKey, Prisma, type PrismaClient } from '../generated/prisma/client';
import { type UserRole } from '../users/user.repository';

/** An API key as the rest of the code sees it: never its hash. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** The public part of the key (`sbk_<prefix>_...`), unique: how a presented key finds its row. */
  prefix: string;
  role: UserRole;
  /** The user the key acts for; null once that user has been deleted (the key is then dead). */
  ownerId: string | null;
  ownerUsername: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  revokedAt: Date | null;
}

/** The owner facts authentication needs, read in the same query as the key. */
export interface ApiKeyOwner {
  id: string;
  username: string;
  role: UserRole;
  disabled: boolean;
  passwordMustChange: boolean;
}

/** What the authenticator compares against: the key, its stored SHA-256 and its owner as of now. */
export interface ApiKeyCredential {
  key: ApiKeyRecord;
  keyHash: Buffer;
  owner: ApiKeyOwner | null;
}

export interface NewApiKey {
  name: string;
  prefix: string;
  /** SHA-256 of the whole key. */
  keyHash: Buffer;
  role: UserRole;
  ownerId: string;
  expiresAt: Date | null;
}

export interface ApiKeyListQuery {
  /** Only this user's keys; undefined lists everyone's. */
  ownerId?: string;
  offset: number;
  limit: number;
}

export interface ApiKeyPage {
  items: ApiKeyRecord[];
  total: number;
}

/** Another key already has this prefix (62 random bits make it rare; the caller draws again). */
export class ApiKeyPrefixTakenError extends Error {
  constructor() {
    super('API key prefix already in use');
    this.name = 'ApiKeyPrefixTakenError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNIQUE_VIOLATION = 'P2002';

// Only what authentication needs: never the owner's password hash or TOTP secret.
const OWNER = {
  id: true,
  username: true,
  role: true,
  disabled: true,
  passwordMustChange: true,
} as const satisfies Prisma.UserSelect;

const WITH_OWNER_NAME = { createdBy: { select: { username: true } } } satisfies Prisma.ApiKeyInclude;

/** Rows of `api_keys`. Accepts the client or a transaction, so a write can share one with its audit entry. */
export class ApiKeyRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async create(key: NewApiKey): Promise<ApiKeyRecord> {
    try {
      const row = await this.db.apiKey.create({
        data: {
          name: key.name,
          prefix: key.prefix,
          keyHash: new Uint8Array(key.keyHash),
          role: key.role,
          createdById: key.ownerId,
          expiresAt: key.expiresAt,
        },
        include: WITH_OWNER_NAME,
      });
      return toRecord(row);
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === UNIQUE_VIOLATION) {
        throw new ApiKeyPrefixTakenError();
      }
      throw error;
    }
  }

  /**
   * Locks the owner's row for the rest of the transaction and counts their live keys (neither
   * revoked nor expired at `now`). The lock serialises one user's key creations on every replica,
   * so a burst cannot slip past a cap checked against this count. NO KEY UPDATE: foreign-key
   * checks of other writes (sessions, keys of other users) do not wait on it.
   */
  async countLiveForUpdate(ownerId: string, now: Date): Promise<number> {
    await this.db.$queryRaw`SELECT 1 FROM users WHERE id = ${ownerId}::uuid FOR NO KEY UPDATE`;
    return this.db.apiKey.count({
      where: { createdById: ownerId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
    });
  }

  /** The key with this prefix, its hash and its owner's current state, in one round trip. */
  async findCredential(prefix: string): Promise<ApiKeyCredential | null> {
    const row = await this.db.apiKey.findUnique({
      where: { prefix },
      include: { createdBy: { select: OWNER } },
    });
    if (row === null) return null;
    return {
      key: toRecord({
        ...row,
        createdBy: row.createdBy === null ? null : { username: row.createdBy.username },
      }),
      keyHash: Buffer.from(row.keyHash),
      owner: row.createdBy,
    };
  }

  async findById(id: string): Promise<ApiKeyRecord | null> {
    if (!UUID.test(id)) return null;
    const row = await this.db.apiKey.findUnique({ where: { id }, include: WITH_OWNER_NAME });
    return row === null ? null : toRecord(row);
  }

  /** Newest first. */
  async list(query: ApiKeyListQuery): Promise<ApiKeyPage> {
    const where: Prisma.ApiKeyWhereInput = query.ownerId === undefined ? {} : { createdById: query.ownerId };
    const [rows, total] = await Promise.all([
      this.db.apiKey.findMany({
        where,
        include: WITH_OWNER_NAME,
        orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
        skip: query.offset,
        take: query.limit,
      }),
      this.db.apiKey.count({ where }),
    ]);
    return { items: rows.map(toRecord), total };
  }

  /** Revokes a key that is not revoked yet; false when it was already revoked (or does not exist). */
  async revoke(id: string, now: Date): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const { count } = await this.db.apiKey.updateMany({
      where: { id, revokedAt: null },
      data: { revokedAt: now },
    });
    return count === 1;
  }

  /** Revokes every live key of a user (the user is being deleted); returns how many. */
  async revokeAllOf(ownerId: string, now: Date): Promise<number> {
    const { count } = await this.db.apiKey.updateMany({
      where: { createdById: ownerId, revokedAt: null },
      data: { revokedAt: now },
    });
    return count;
  }

  /**
   * Records a use unless one was recorded after `notSince`. The condition is in the UPDATE itself,
   * so of many concurrent requests (on any number of api replicas) exactly one wins per interval.
   * Returns whether this call recorded it.
   */
  async recordUse(id: string, ip: string | null, now: Date, notSince: Date): Promise<boolean> {
    const { count } = await this.db.apiKey.updateMany({
      where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lte: notSince } }] },
      data: { lastUsedAt: now, lastUsedIp: ip },
    });
    return count === 1;
  }
}

function toRecord(row: ApiKey & { createdBy: { username: string } | null }): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    ownerId: row.createdById,
    ownerUsername: row.createdBy?.username ?? null,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    lastUsedIp: row.lastUsedIp,
    revokedAt: row.revokedAt,
  };
}
