import { randomUUID } from 'node:crypto';

import { type Prisma, type PrismaClient, type RefreshToken } from '../generated/prisma/client';
import { toBytes } from './bytes';

export interface RefreshTokenRecord {
  id: string;
  userId: string;
  /** Every token of one login shares it; reuse of a rotated token revokes the family. */
  familyId: string;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  expiresAt: Date;
  rotatedAt: Date | null;
  revokedAt: Date | null;
}

export interface NewRefreshToken {
  userId: string;
  /** Absent: the first token of a new family (a fresh login). */
  familyId?: string;
  tokenHash: Buffer;
  ip: string | null;
  userAgent: string | null;
  now: Date;
  expiresAt: Date;
}

/** Rotating refresh tokens (refresh_tokens table), stored as SHA-256 only. */
export class RefreshTokenRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async create(token: NewRefreshToken): Promise<RefreshTokenRecord> {
    const row = await this.db.refreshToken.create({
      data: {
        userId: token.userId,
        // A new family's id is the first token's own id: one generated uuid, no second round trip.
        familyId: token.familyId ?? randomUUID(),
        tokenHash: toBytes(token.tokenHash),
        ip: token.ip,
        userAgent: token.userAgent,
        createdAt: token.now,
        expiresAt: token.expiresAt,
      },
    });
    return toRecord(row);
  }

  async findByTokenHash(tokenHash: Buffer): Promise<RefreshTokenRecord | null> {
    const row = await this.db.refreshToken.findUnique({ where: { tokenHash: toBytes(tokenHash) } });
    return row === null ? null : toRecord(row);
  }

  /**
   * Marks a live token rotated, only if nobody else did first: of two concurrent refreshes with the
   * same token exactly one wins, and the loser is treated as reuse.
   */
  async markRotated(id: string, now: Date): Promise<boolean> {
    const result = await this.db.refreshToken.updateMany({
      where: { id, rotatedAt: null, revokedAt: null },
      data: { rotatedAt: now },
    });
    return result.count === 1;
  }

  /**
   * Whether the family was ended (logout, reuse detection, the user's logins revoked): every token of
   * it is then revoked together, so one revoked row says so. Through the family_id index; asked on
   * every bearer request.
   */
  async isFamilyRevoked(familyId: string): Promise<boolean> {
    const row = await this.db.refreshToken.findFirst({
      where: { familyId, revokedAt: { not: null } },
      select: { id: true },
    });
    return row !== null;
  }

  /** Ends every token of a family (logout, reuse detection). Returns how many were still live. */
  async revokeFamily(familyId: string, now: Date): Promise<number> {
    const result = await this.db.refreshToken.updateMany({
      where: { familyId, revokedAt: null },
      data: { revokedAt: now },
    });
    return result.count;
  }
}

function toRecord(row: RefreshToken): RefreshTokenRecord {
  return {
    id: row.id,
    userId: row.userId,
    familyId: row.familyId,
    ip: row.ip,
    userAgent: row.userAgent,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    rotatedAt: row.rotatedAt,
    revokedAt: row.revokedAt,
  };
}
