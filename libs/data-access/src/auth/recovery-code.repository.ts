import { type Prisma, type PrismaClient } from '../generated/prisma/client';
import { toBytes } from './bytes';

/** A code as stored: its keyed digest and the id of the key (see the schema). */
export interface StoredRecoveryCode {
  codeHash: Buffer;
  keyId: string;
}

/** What a presented code may be stored as: one keyed digest per key, and the SHA-256 of before keys. */
export interface RecoveryCodeLookup {
  keyed: readonly Buffer[];
  legacy: Buffer;
}

/** One-time 2FA recovery codes (recovery_codes table), stored as keyed digests only. */
export class RecoveryCodeRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  /** Replaces the user's whole set: old codes, used or not, stop working. */
  async replace(userId: string, codes: readonly StoredRecoveryCode[], now: Date): Promise<void> {
    await this.db.recoveryCode.deleteMany({ where: { userId } });
    await this.db.recoveryCode.createMany({
      data: codes.map((code) => ({
        userId,
        codeHash: toBytes(code.codeHash),
        keyId: code.keyId,
        createdAt: now,
      })),
    });
  }

  async deleteAll(userId: string): Promise<void> {
    await this.db.recoveryCode.deleteMany({ where: { userId } });
  }

  /**
   * Uses up a code if it is the user's and unused. The lookup is by digest through the unique index,
   * so nothing is compared byte by byte in JS; the conditional update makes single use hold under
   * races. A bare SHA-256 matches only a row not yet upgraded to a keyed digest.
   */
  async consume(userId: string, lookup: RecoveryCodeLookup, now: Date): Promise<boolean> {
    const result = await this.db.recoveryCode.updateMany({
      where: {
        userId,
        usedAt: null,
        OR: [
          { codeHash: { in: lookup.keyed.map((hash) => toBytes(hash)) }, keyId: { not: null } },
          { codeHash: toBytes(lookup.legacy), keyId: null },
        ],
      },
      data: { usedAt: now },
    });
    return result.count > 0;
  }

  countUnused(userId: string): Promise<number> {
    return this.db.recoveryCode.count({ where: { userId, usedAt: null } });
  }

  /** Rows stored before keys (bare SHA-256), a batch at a time. */
  async listUnkeyed(limit: number): Promise<Array<{ id: string; codeHash: Buffer }>> {
    const rows = await this.db.recoveryCode.findMany({
      where: { keyId: null },
      select: { id: true, codeHash: true },
      take: limit,
    });
    return rows.map((row) => ({ id: row.id, codeHash: Buffer.from(row.codeHash) }));
  }

  /** Replaces a bare SHA-256 by its keyed digest, once (another replica may be doing the same). */
  async upgradeUnkeyed(id: string, code: StoredRecoveryCode): Promise<boolean> {
    const result = await this.db.recoveryCode.updateMany({
      where: { id, keyId: null },
      data: { codeHash: toBytes(code.codeHash), keyId: code.keyId },
    });
    return result.count === 1;
  }
}
