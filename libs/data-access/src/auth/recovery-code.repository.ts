import { type Prisma, type PrismaClient } from '../generated/prisma/client';
import { toBytes } from './bytes';

/** One-time 2FA recovery codes (recovery_codes table), stored as SHA-256 only. */
export class RecoveryCodeRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  /** Replaces the user's whole set: old codes, used or not, stop working. */
  async replace(userId: string, codeHashes: readonly Buffer[], now: Date): Promise<void> {
    await this.db.recoveryCode.deleteMany({ where: { userId } });
    await this.db.recoveryCode.createMany({
      data: codeHashes.map((codeHash) => ({ userId, codeHash: toBytes(codeHash), createdAt: now })),
    });
  }

  async deleteAll(userId: string): Promise<void> {
    await this.db.recoveryCode.deleteMany({ where: { userId } });
  }

  /**
   * Uses up a code if it is the user's and unused. The lookup is by digest through the unique index,
   * so nothing is compared byte by byte in JS; the conditional update makes single use hold under races.
   */
  async consume(userId: string, codeHash: Buffer, now: Date): Promise<boolean> {
    const result = await this.db.recoveryCode.updateMany({
      where: { userId, codeHash: toBytes(codeHash), usedAt: null },
      data: { usedAt: now },
    });
    return result.count === 1;
  }

  countUnused(userId: string): Promise<number> {
    return this.db.recoveryCode.count({ where: { userId, usedAt: null } });
  }
}
