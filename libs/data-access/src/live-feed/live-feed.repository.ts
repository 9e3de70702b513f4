import { type PrismaClient } from '../generated/prisma/client';
import { onlineDeviceIdsSql, type OnlineIdsRow } from './live-feed.sql';

/** An audit chain entry as the live feed announces it: no details, no hashes. */
export interface AuditTailEntry {
  readonly seq: bigint;
  readonly at: Date;
  readonly action: string;
  readonly actorType: string;
  readonly actorId: string | null;
  readonly targetType: string | null;
  readonly targetId: string | null;
}

/**
 * What the console's live event stream polls while a console is connected (apps/api/src/live-events):
 * which devices count as online now, and the audit chain's newest entries. Read-only.
 */
export class LiveFeedRepository {
  constructor(private readonly db: PrismaClient) {}

  /** Ids of the devices seen at or after `since` and not deleted. */
  async onlineDeviceIds(since: Date): Promise<string[]> {
    const [row] = await this.db.$queryRaw<OnlineIdsRow[]>(onlineDeviceIdsSql(since));
    const ids = row?.ids ?? '';
    return ids === '' ? [] : ids.split(' ');
  }

  /** The newest entry's seq, 0 for an empty chain (the primary key answers it). */
  async lastAuditSeq(): Promise<bigint> {
    const newest = await this.db.auditEntry.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
    return newest?.seq ?? 0n;
  }

  /** Entries after `afterSeq`, oldest first, at most `limit`. Appends commit in seq order (one lock). */
  async auditEntriesAfter(afterSeq: bigint, limit: number): Promise<AuditTailEntry[]> {
    return this.db.auditEntry.findMany({
      where: { seq: { gt: afterSeq } },
      orderBy: { seq: 'asc' },
      take: limit,
      select: {
        seq: true,
        at: true,
        action: true,
        actorType: true,
        actorId: true,
        targetType: true,
        targetId: true,
      },
    });
  }
}
