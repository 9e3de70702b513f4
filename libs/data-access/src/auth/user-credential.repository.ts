import { type Prisma, type PrismaClient } from '../generated/prisma/client';
import { toBytes } from './bytes';

/** A user's second factor as the TOTP code checks need it. */
export interface TotpState {
  /** AES-GCM sealed by the api (it alone holds the key); null when none was ever enrolled. */
  sealedSecret: Buffer | null;
  enabled: boolean;
  /** Last accepted time step: a code at or below it is a replay. */
  lastStep: number | null;
}

/**
 * The credential columns of users (password, TOTP, last login), apart from UserRepository's account
 * administration: these writes belong to the login and self-service flows.
 */
export class UserCredentialRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async findTotpState(userId: string): Promise<TotpState | null> {
    const row = await this.db.user.findUnique({
      where: { id: userId },
      select: { totpSecretSealed: true, totpEnabled: true, totpLastStep: true },
    });
    if (row === null) return null;
    return {
      sealedSecret: row.totpSecretSealed === null ? null : Buffer.from(row.totpSecretSealed),
      enabled: row.totpEnabled,
      lastStep: row.totpLastStep === null ? null : Number(row.totpLastStep),
    };
  }

  /** A new secret awaiting confirmation: TOTP stays off until a code from it is shown. */
  async storePendingTotpSecret(userId: string, sealedSecret: Buffer): Promise<void> {
    await this.db.user.update({
      where: { id: userId },
      data: { totpSecretSealed: toBytes(sealedSecret), totpEnabled: false, totpLastStep: null },
    });
  }

  async enableTotp(userId: string): Promise<void> {
    await this.db.user.update({ where: { id: userId }, data: { totpEnabled: true } });
  }

  async disableTotp(userId: string): Promise<void> {
    await this.db.user.update({
      where: { id: userId },
      data: { totpEnabled: false, totpSecretSealed: null, totpLastStep: null },
    });
  }

  /**
   * Records `step` as used if it is newer than the last used one. False means the code (or one from
   * a later step) was already used: a replay. Atomic, so two concurrent uses of a code cannot both win.
   */
  async claimTotpStep(userId: string, step: number): Promise<boolean> {
    const result = await this.db.user.updateMany({
      where: { id: userId, OR: [{ totpLastStep: null }, { totpLastStep: { lt: BigInt(step) } }] },
      data: { totpLastStep: BigInt(step) },
    });
    return result.count === 1;
  }

  /** A new password chosen by its owner: the must-change flag goes, and older access tokens die. */
  async changePassword(userId: string, passwordHash: string, now: Date): Promise<void> {
    await this.db.user.update({
      where: { id: userId },
      data: { passwordHash, passwordChangedAt: now, passwordMustChange: false },
    });
  }

  async recordLogin(userId: string, now: Date): Promise<void> {
    await this.db.user.update({ where: { id: userId }, data: { lastLoginAt: now } });
  }
}
