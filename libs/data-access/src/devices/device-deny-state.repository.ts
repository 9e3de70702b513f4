import { type PrismaClient } from '../generated/prisma/client';
import {
  type CountRow,
  deniedAmongSql,
  deniedPageSql,
  lockDenyKeysSql,
  type RustdeskIdRow,
} from './device-admin.sql';

const DEFAULT_TRANSACTION_TIMEOUT_MS = 10_000;

/**
 * Keeps a copy of the deny state outside Postgres (the relays' Redis set) equal to it.
 *
 * `withDenyState` runs `apply` while holding a per-id advisory lock on every id given, with the deny
 * state read after the locks were taken. Every writer of the copy goes through it after its own
 * change committed, so writes for one id are serialised and each reflects a state at least as new
 * as the previous one: whatever order racing bans and unbans commit in, the last write to the copy
 * is of the last committed state. A plain "SADD after commit" could land after a later SREM.
 */
export class DeviceDenyStateRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly transactionTimeoutMs = DEFAULT_TRANSACTION_TIMEOUT_MS,
  ) {}

  async withDenyState(
    rustdeskIds: readonly string[],
    apply: (denied: ReadonlySet<string>) => Promise<void>,
  ): Promise<void> {
    if (rustdeskIds.length === 0) return;
    await this.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw<CountRow[]>(lockDenyKeysSql(rustdeskIds));
        const rows = await tx.$queryRaw<RustdeskIdRow[]>(deniedAmongSql(rustdeskIds));
        await apply(new Set(rows.map((row) => row.rustdesk_id)));
      },
      { timeout: this.transactionTimeoutMs, maxWait: this.transactionTimeoutMs },
    );
  }

  /** Every denied id (banned, revoked or soft-deleted), in pages; not one snapshot (callers re-check under locks). */
  async *deniedIds(pageSize = 5_000): AsyncGenerator<string[]> {
    let after = '';
    for (;;) {
      const rows = await this.prisma.$queryRaw<RustdeskIdRow[]>(deniedPageSql(after, pageSize));
      if (rows.length > 0) yield rows.map((row) => row.rustdesk_id);
      const last = rows.at(-1);
      if (last === undefined || rows.length < pageSize) return;
      after = last.rustdesk_id;
    }
  }
}
