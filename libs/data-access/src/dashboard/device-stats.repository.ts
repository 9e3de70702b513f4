import { type Prisma, type PrismaClient } from '../generated/prisma/client';
import { countDevicesByStateSql, countOnlineDevicesSql, type DeviceCountsRow } from './device-stats.sql';

export interface DeviceCounts {
  readonly total: number;
  /** Last seen at or after `onlineSince`. */
  readonly online: number;
  /** Awaiting approval (and not banned). */
  readonly pending: number;
  readonly banned: number;
}

/** Read-only counts over devices for the operators' dashboard. */
export class DeviceStatsRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async counts(onlineSince: Date): Promise<DeviceCounts> {
    const [row] = await this.db.$queryRaw<DeviceCountsRow[]>(countDevicesByStateSql(onlineSince));
    return {
      total: Number(row?.total ?? 0),
      online: Number(row?.online ?? 0),
      pending: Number(row?.pending ?? 0),
      banned: Number(row?.banned ?? 0),
    };
  }

  async online(onlineSince: Date): Promise<number> {
    const [row] = await this.db.$queryRaw<{ online: bigint }[]>(countOnlineDevicesSql(onlineSince));
    return Number(row?.online ?? 0);
  }
}
