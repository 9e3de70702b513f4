import { Prisma, type PrismaClient } from '../generated/prisma/client';

export type RelayIpListName = 'blocklist' | 'blacklist';

export interface RelayIpListEntryRecord {
  readonly list: RelayIpListName;
  readonly address: string;
  readonly note: string;
  readonly createdAt: Date;
  readonly createdBy: { readonly id: string; readonly username: string } | null;
}

export interface NewRelayIpListEntry {
  readonly list: RelayIpListName;
  readonly address: string;
  readonly note: string;
  readonly createdById: string | null;
}

/** The advisory lock (two-key form) that serialises every writer of the Redis copy: "SBIP". */
export const RELAY_IP_LISTS_LOCK_CLASS = 0x5342_4950;

const DEFAULT_TRANSACTION_TIMEOUT_MS = 10_000;
const WITH_CREATOR = { createdBy: { select: { id: true, username: true } } } as const;

/** The managed relay IP lists (rows of relay_ip_list_entries). Addresses arrive normalised. */
export class RelayIpListRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async list(): Promise<RelayIpListEntryRecord[]> {
    const rows = await this.db.relayIpListEntry.findMany({
      orderBy: [{ list: 'asc' }, { createdAt: 'desc' }, { address: 'asc' }],
      include: WITH_CREATOR,
    });
    return rows.map(toRecord);
  }

  async find(list: RelayIpListName, address: string): Promise<RelayIpListEntryRecord | null> {
    const row = await this.db.relayIpListEntry.findUnique({
      where: { list_address: { list, address } },
      include: WITH_CREATOR,
    });
    return row === null ? null : toRecord(row);
  }

  /** Adds an entry; null when the address is on that list already (the existing entry is kept). */
  async add(entry: NewRelayIpListEntry): Promise<RelayIpListEntryRecord | null> {
    try {
      const row = await this.db.relayIpListEntry.create({ data: entry, include: WITH_CREATOR });
      return toRecord(row);
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return null;
      throw error;
    }
  }

  /** Removes an entry; false when there was none. */
  async remove(list: RelayIpListName, address: string): Promise<boolean> {
    const { count } = await this.db.relayIpListEntry.deleteMany({ where: { list, address } });
    return count === 1;
  }
}

/**
 * Keeps the relays' Redis copy of the lists equal to the rows. `withEntries` runs `apply` under one
 * advisory lock with the rows read after taking it: a sync after a change and a full rebuild never
 * interleave, so the copy's last write is always of the last committed state (the lists change
 * rarely; one lock for both is plenty).
 */
export class RelayIpListStateRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly transactionTimeoutMs = DEFAULT_TRANSACTION_TIMEOUT_MS,
  ) {}

  async withEntries(
    apply: (entries: Readonly<Record<RelayIpListName, ReadonlySet<string>>>) => Promise<void>,
  ): Promise<void> {
    await this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw(Prisma.sql`SELECT pg_advisory_xact_lock(${RELAY_IP_LISTS_LOCK_CLASS}::int4, 0)`);
        const rows = await tx.relayIpListEntry.findMany({ select: { list: true, address: true } });
        const entries = { blocklist: new Set<string>(), blacklist: new Set<string>() };
        for (const row of rows) entries[row.list].add(row.address);
        await apply(entries);
      },
      { timeout: this.transactionTimeoutMs, maxWait: this.transactionTimeoutMs },
    );
  }
}

function toRecord(row: {
  list: RelayIpListName;
  address: string;
  note: string;
  createdAt: Date;
  createdBy: { id: string; username: string } | null;
}): RelayIpListEntryRecord {
  return {
    list: row.list,
    address: row.address,
    note: row.note,
    createdAt: row.createdAt,
    createdBy: row.createdBy && { id: row.createdBy.id, username: row.createdBy.username },
  };
}
