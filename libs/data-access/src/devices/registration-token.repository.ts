import { type Prisma, type PrismaClient } from '../generated/prisma/client';
import { consumeRegistrationTokenSql, type UseCountRow } from './device-admin.sql';

/** A registration token as listed: never its hash. */
export interface RegistrationTokenRecord {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly maxUses: number | null;
  readonly useCount: number;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly createdAt: Date;
  readonly createdBy: { readonly id: string; readonly username: string } | null;
}

/** What a deploy needs to check a presented token. */
export interface RegistrationTokenSecret extends RegistrationTokenRecord {
  /** SHA-256 of the whole token. */
  readonly tokenHash: Uint8Array;
}

export interface NewRegistrationToken {
  readonly name: string;
  readonly prefix: string;
  readonly tokenHash: Uint8Array;
  readonly maxUses: number | null;
  readonly expiresAt: Date | null;
  readonly createdById: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const WITH_CREATOR = { createdBy: { select: { id: true, username: true } } } as const;

/** Tokens a device presents to `POST /api/devices/deploy`; stored as a public prefix and a SHA-256. */
export class RegistrationTokenRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async create(token: NewRegistrationToken): Promise<RegistrationTokenRecord> {
    const row = await this.db.registrationToken.create({
      data: {
        name: token.name,
        prefix: token.prefix,
        tokenHash: Buffer.from(token.tokenHash),
        maxUses: token.maxUses,
        expiresAt: token.expiresAt,
        createdById: token.createdById,
      },
      include: WITH_CREATOR,
    });
    return toRecord(row);
  }

  async list(): Promise<RegistrationTokenRecord[]> {
    const rows = await this.db.registrationToken.findMany({
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      include: WITH_CREATOR,
    });
    return rows.map(toRecord);
  }

  async findById(id: string): Promise<RegistrationTokenRecord | null> {
    if (!UUID.test(id)) return null;
    const row = await this.db.registrationToken.findUnique({ where: { id }, include: WITH_CREATOR });
    return row === null ? null : toRecord(row);
  }

  async findByPrefix(prefix: string): Promise<RegistrationTokenSecret | null> {
    const row = await this.db.registrationToken.findUnique({ where: { prefix }, include: WITH_CREATOR });
    return row === null ? null : { ...toRecord(row), tokenHash: row.tokenHash };
  }

  /** Revokes a token not yet revoked; false when it was already (the first revocation time is kept). */
  async revoke(id: string, at: Date): Promise<boolean> {
    const { count } = await this.db.registrationToken.updateMany({
      where: { id, revokedAt: null },
      data: { revokedAt: at },
    });
    return count === 1;
  }

  /** One use, atomically checked against revocation, expiry and max_uses; the new count, or null when none is left. */
  async consumeUse(id: string, now: Date): Promise<number | null> {
    const [row] = await this.db.$queryRaw<UseCountRow[]>(consumeRegistrationTokenSql(id, now));
    return row?.use_count ?? null;
  }
}

type TokenRow = Prisma.RegistrationTokenGetPayload<{ include: typeof WITH_CREATOR }>;

function toRecord(row: TokenRow): RegistrationTokenRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    maxUses: row.maxUses,
    useCount: row.useCount,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
  };
}
