import { type Prisma, type PrismaClient, type Session } from '../generated/prisma/client';
import { toBytes } from './bytes';

/** A browser session row; the token itself is never stored, only its SHA-256. */
export interface SessionRecord {
  id: string;
  userId: string;
  rememberMe: boolean;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  /** Absolute end of life; the idle timeout is checked against lastSeenAt by the caller. */
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface NewSession {
  userId: string;
  tokenHash: Buffer;
  rememberMe: boolean;
  ip: string | null;
  userAgent: string | null;
  now: Date;
  expiresAt: Date;
}

/** Browser sessions (sessions table). Accepts the client or a transaction, like every repository. */
export class SessionRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async create(session: NewSession): Promise<SessionRecord> {
    const row = await this.db.session.create({
      data: {
        userId: session.userId,
        tokenHash: toBytes(session.tokenHash),
        rememberMe: session.rememberMe,
        ip: session.ip,
        userAgent: session.userAgent,
        createdAt: session.now,
        lastSeenAt: session.now,
        expiresAt: session.expiresAt,
      },
    });
    return toRecord(row);
  }

  /** By the SHA-256 of the cookie's token (unique index), whatever its state: the caller judges it. */
  async findByTokenHash(tokenHash: Buffer): Promise<SessionRecord | null> {
    const row = await this.db.session.findUnique({ where: { tokenHash: toBytes(tokenHash) } });
    return row === null ? null : toRecord(row);
  }

  /**
   * Moves last_seen_at forward only if it is older than `staleBefore`: at most one write per session
   * per interval, however many requests arrive (and several replicas racing write once).
   */
  async touch(id: string, now: Date, staleBefore: Date): Promise<void> {
    await this.db.session.updateMany({
      where: { id, revokedAt: null, lastSeenAt: { lt: staleBefore } },
      data: { lastSeenAt: now },
    });
  }

  /** Revokes one live session; `userId` makes it "own sessions only". True if a row changed. */
  async revoke(id: string, now: Date, userId?: string): Promise<boolean> {
    const result = await this.db.session.updateMany({
      where: { id, revokedAt: null, ...(userId === undefined ? {} : { userId }) },
      data: { revokedAt: now },
    });
    return result.count === 1;
  }

  /** The user's sessions still usable at `now`: not revoked, not expired, seen since `idleSince`. */
  async listActive(userId: string, now: Date, idleSince: Date): Promise<SessionRecord[]> {
    const rows = await this.db.session.findMany({
      where: { userId, revokedAt: null, expiresAt: { gt: now }, lastSeenAt: { gt: idleSince } },
      orderBy: { lastSeenAt: 'desc' },
    });
    return rows.map(toRecord);
  }
}

function toRecord(row: Session): SessionRecord {
  return {
    id: row.id,
    userId: row.userId,
    rememberMe: row.rememberMe,
    ip: row.ip,
    userAgent: row.userAgent,
    createdAt: row.createdAt,
    lastSeenAt: row.lastSeenAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
  };
}
