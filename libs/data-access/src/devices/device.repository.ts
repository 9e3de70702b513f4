import { type Pool } from 'pg';

import { REGISTRATION_POLICY_KEY } from '@switchboard/domain';

import { Prisma, type PrismaClient } from '../generated/prisma/client';
import { poolOf } from '../prisma-client';
import {
  type AccessRow,
  ADMISSION_BY_CODE,
  BANNED_BIT,
  DELETED_BIT,
  REVOKED_BIT,
  changeIdSql,
  declareSnapshotCursorSql,
  deviceExistsSql,
  type ExistsRow,
  fetchSnapshotPageSql,
  findAccessSql,
  findIdentitiesSql,
  type IdentityRow,
  readSettingSql,
  type RegistrationRow,
  type SeenRow,
  type SettingRow,
  touchLastSeenStatement,
  upsertRegistrationsStatement,
} from './device.sql';

export type DeviceAdmission = 'admitted' | 'pending' | 'rejected';

/** What signal needs to know of one device to admit or refuse it; nothing else. */
export interface DeviceAccessRow {
  readonly rustdeskId: string;
  readonly admission: DeviceAdmission;
  readonly banned: boolean;
  /** Soft-deleted (deleted_at set). */
  readonly deleted: boolean;
  readonly revoked: boolean;
  /** uuidDigest() of the stored uuid; null when the row has none. */
  readonly uuidDigest: number | null;
}

export interface DeviceAccessSnapshotOptions {
  /** Rows per FETCH, and per call of the visitor (default 20,000). */
  readonly pageSize?: number;
  /** Upper bound for the whole read, including the wait for a connection (default 120 s). */
  readonly timeoutMs?: number;
}

export interface DeviceAccessSnapshotSummary {
  readonly devices: number;
  /** The stored `registration.policy` setting as JSON, undefined when there is no such row. */
  readonly registrationPolicy: unknown;
}

/** The uuid, key and address a device last registered with; pk and lastIp null until it registers. */
export interface StoredDeviceIdentity {
  readonly rustdeskId: string;
  readonly uuid: Uint8Array;
  readonly pk: Uint8Array | null;
  readonly lastIp: string | null;
}

/** A RegisterPk signal accepted (pk and ip null: keep the stored ones, as for a pending record). */
export type DeviceRegistrationWrite = RegistrationRow;

export type DeviceSeenWrite = SeenRow;

export type ChangeIdOutcome = 'changed' | 'not-found' | 'taken';

const DEFAULT_PAGE_SIZE = 20_000;
const DEFAULT_SNAPSHOT_TIMEOUT_MS = 120_000;
// Both pass their rows as arrays, so no parameter limit applies; the size bounds how long one
// statement is built on the event loop (about 1 ms per 1,000 rows) and holds its row locks.
const MAX_ROWS_PER_UPSERT = 1_000;
const MAX_ROWS_PER_TOUCH = 5_000;
const RAW_QUERY_FAILED = 'P2010';
const UNIQUE_VIOLATION = '23505';

/**
 * The device rows as signal sees them: a streamed access snapshot for its in-memory index, single
 * look-ups, and batched writes of what devices report about themselves. Admin fields (admission
 * decisions, bans, deletion, notes...) are the api's; nothing here writes them, except the
 * admission a row is created with.
 */
export class DeviceRepository {
  // The batched writes go to pg directly: through Prisma every batch stayed reachable after it was
  // written (prisma-client.ts, poolOf).
  private readonly pool: Pool;

  constructor(private readonly prisma: PrismaClient) {
    this.pool = poolOf(prisma);
  }

  /**
   * Streams every device's access state to `visit`, one page at a time, from a single consistent
   * snapshot (one REPEATABLE READ transaction, one server-side cursor), together with the
   * registration policy as of that same snapshot. Memory stays at one page whatever the table size.
   */
  async loadAccessSnapshot(
    visit: (page: readonly DeviceAccessRow[]) => void | Promise<void>,
    options: DeviceAccessSnapshotOptions = {},
  ): Promise<DeviceAccessSnapshotSummary> {
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    const timeoutMs = options.timeoutMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS;
    const fetchPage = fetchSnapshotPageSql(pageSize);
    return this.prisma.$transaction(
      async (tx) => {
        const [setting] = await tx.$queryRaw<SettingRow[]>(readSettingSql(REGISTRATION_POLICY_KEY));
        await tx.$executeRawUnsafe(declareSnapshotCursorSql());
        let devices = 0;
        for (;;) {
          const rows = await tx.$queryRawUnsafe<AccessRow[]>(fetchPage);
          if (rows.length > 0) await visit(rows.map(toAccessRow));
          devices += rows.length;
          if (rows.length < pageSize) break;
        }
        return { devices, registrationPolicy: setting?.value };
      },
      { isolationLevel: 'RepeatableRead', maxWait: timeoutMs, timeout: timeoutMs },
    );
  }

  async findAccess(rustdeskId: string): Promise<DeviceAccessRow | null> {
    const [row] = await this.prisma.$queryRaw<AccessRow[]>(findAccessSql(rustdeskId));
    return row === undefined ? null : toAccessRow(row);
  }

  /** The stored identity of each of these ids that has a uuid; ids without one are left out. */
  async findIdentities(rustdeskIds: readonly string[]): Promise<StoredDeviceIdentity[]> {
    if (rustdeskIds.length === 0) return [];
    const { rows } = await this.pool.query<IdentityRow>(findIdentitiesSql(rustdeskIds));
    return rows.map((row) => ({
      rustdeskId: row.rustdesk_id,
      uuid: row.uuid,
      pk: row.pk,
      lastIp: row.last_ip,
    }));
  }

  /** The stored `registration.policy` setting as JSON; undefined when unset. */
  async readRegistrationPolicy(): Promise<unknown> {
    const [row] = await this.prisma.$queryRaw<SettingRow[]>(readSettingSql(REGISTRATION_POLICY_KEY));
    return row?.value;
  }

  /**
   * Inserts or updates the batch in one statement per 1,000 rows. A row this creates gets the
   * write's `admissionIfNew`; an existing row keeps its admission, ban and deletion state, and a row
   * holding another uuid is not written at all. When an id appears twice, its last write wins.
   * Resolves to the number of rows inserted or updated.
   */
  async upsertRegistrations(batch: readonly DeviceRegistrationWrite[]): Promise<number> {
    let written = 0;
    for (const chunk of chunks(lastPerId(batch), MAX_ROWS_PER_UPSERT)) {
      written += (await this.pool.query(upsertRegistrationsStatement(chunk))).rowCount ?? 0;
    }
    return written;
  }

  /**
   * Moves last_seen_at forward (never back) and refreshes the address, one statement per 5,000
   * rows. Ids with no row are skipped. Resolves to the number of rows updated.
   */
  async touchLastSeen(batch: readonly DeviceSeenWrite[]): Promise<number> {
    let written = 0;
    for (const chunk of chunks(lastPerId(batch), MAX_ROWS_PER_TOUCH)) {
      written += (await this.pool.query(touchLastSeenStatement(chunk))).rowCount ?? 0;
    }
    return written;
  }

  /** Renames a device (docs/protocol.md §5.9); never takes an id another row holds. */
  async changeId(oldId: string, newId: string): Promise<ChangeIdOutcome> {
    try {
      if ((await this.prisma.$executeRaw(changeIdSql(oldId, newId))) === 1) return 'changed';
    } catch (error) {
      // Another writer inserted newId between our existence check and the update.
      if (isUniqueViolation(error)) return 'taken';
      throw error;
    }
    const [row] = await this.prisma.$queryRaw<ExistsRow[]>(deviceExistsSql(newId));
    return row?.exists === true ? 'taken' : 'not-found';
  }
}

function toAccessRow(row: AccessRow): DeviceAccessRow {
  return {
    rustdeskId: row.rustdesk_id,
    admission: ADMISSION_BY_CODE[row.flags & 3] ?? 'rejected',
    banned: (row.flags & BANNED_BIT) !== 0,
    deleted: (row.flags & DELETED_BIT) !== 0,
    revoked: (row.flags & REVOKED_BIT) !== 0,
    uuidDigest: row.uuid_digest,
  };
}

function lastPerId<T extends { readonly rustdeskId: string }>(batch: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const row of batch) {
    byId.delete(row.rustdeskId);
    byId.set(row.rustdeskId, row);
  }
  return [...byId.values()];
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}

function isUniqueViolation(error: unknown): boolean {
  // A raw query's driver error arrives as P2010 with the SQLSTATE under meta.driverAdapterError.
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== RAW_QUERY_FAILED)
    return false;
  const cause = (error.meta?.['driverAdapterError'] as { cause?: { originalCode?: unknown } } | undefined)
    ?.cause;
  return cause?.originalCode === UNIQUE_VIOLATION;
}
