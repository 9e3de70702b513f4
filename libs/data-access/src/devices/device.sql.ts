// The raw SQL signal runs against `devices` and `settings`, kept here so it can be reviewed in one
// place. Signal's writes are batched: one statement carries a whole batch of rows.
import { Prisma } from '../generated/prisma/client';
import { UUID_DIGEST_SQL } from './uuid-digest';

/** Recorded as `admitted_by` on rows signal creates as admitted (open policy). */
export const SIGNAL_ADMISSION_ACTOR = 'system:signal';

// Three columns, the flags packed into one integer: at 1M rows the client's per-column decoding,
// not Postgres, is what a snapshot costs. Bits: 0-1 admission (1 admitted, 2 pending, 3 rejected),
// 2 banned, 3 deleted, 4 revoked.
const ACCESS_COLUMNS = `
  rustdesk_id,
  (CASE admission WHEN 'admitted' THEN 1 WHEN 'pending' THEN 2 ELSE 3 END)
    | (banned::int << 2) | ((deleted_at IS NOT NULL)::int << 3) | ((revoked_at IS NOT NULL)::int << 4) AS flags,
  ${UUID_DIGEST_SQL} AS uuid_digest`;

export interface AccessRow {
  rustdesk_id: string;
  flags: number;
  uuid_digest: number | null;
}

export const ADMISSION_BY_CODE = [undefined, 'admitted', 'pending', 'rejected'] as const;
export const BANNED_BIT = 1 << 2;
export const DELETED_BIT = 1 << 3;
export const REVOKED_BIT = 1 << 4;

export const SNAPSHOT_CURSOR = 'device_access_snapshot';

/**
 * A server-side cursor streams the table in one sequential scan; the caller FETCHes it page by page
 * inside one REPEATABLE READ transaction, so every page belongs to the same snapshot.
 */
export function declareSnapshotCursorSql(): string {
  return `DECLARE ${SNAPSHOT_CURSOR} NO SCROLL CURSOR FOR SELECT ${ACCESS_COLUMNS} FROM devices`;
}

export function fetchSnapshotPageSql(pageSize: number): string {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1)
    throw new RangeError('pageSize must be a positive integer');
  return `FETCH FORWARD ${pageSize} FROM ${SNAPSHOT_CURSOR}`;
}

export function findAccessSql(rustdeskId: string): Prisma.Sql {
  return Prisma.sql`SELECT ${Prisma.raw(ACCESS_COLUMNS)} FROM devices WHERE rustdesk_id = ${rustdeskId}`;
}

/** What a device registered with, for signal's RegisterPk rule after a restart (hbbs peer.rs get). */
export function findIdentitiesSql(rustdeskIds: readonly string[]): PgStatement {
  return {
    text: `SELECT rustdesk_id, uuid, pk, last_ip FROM devices
      WHERE rustdesk_id = ANY($1::text[]) AND uuid IS NOT NULL`,
    values: [rustdeskIds],
  };
}

export interface IdentityRow {
  rustdesk_id: string;
  uuid: Buffer;
  pk: Buffer | null;
  last_ip: string | null;
}

export function readSettingSql(key: string): Prisma.Sql {
  return Prisma.sql`SELECT value FROM settings WHERE key = ${key}`;
}

export interface SettingRow {
  value: unknown;
}

export interface RegistrationRow {
  readonly rustdeskId: string;
  readonly uuid: Uint8Array;
  readonly pk: Uint8Array | null;
  readonly ip: string | null;
  readonly seenAt: Date;
  readonly admissionIfNew: 'admitted' | 'pending';
}

/** A statement for the pg driver itself: the bulk writes bypass Prisma (see poolOf). */
export interface PgStatement {
  readonly text: string;
  readonly values: unknown[];
}

// The same text for every batch, passed as arrays: one bind parameter per column whatever the batch
// size, so building it is cheap and Postgres plans it once. A VALUES list of 9 parameters per row
// took up to a second of the event loop at 5,000 rows.
const UPSERT_REGISTRATIONS = `
  INSERT INTO devices AS d
    (rustdesk_id, uuid, pk, last_ip, last_seen_at, admission, admitted_at, admitted_by, updated_at)
  SELECT v.rustdesk_id, v.uuid, v.pk, v.ip, v.seen_at, v.admission,
    CASE WHEN v.admission = 'admitted' THEN now() END,
    CASE WHEN v.admission = 'admitted' THEN $7::text END,
    now()
  FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[], $5::timestamptz[], $6::device_admission[])
    AS v(rustdesk_id, uuid, pk, ip, seen_at, admission)
  ON CONFLICT (rustdesk_id) DO UPDATE SET
    uuid = EXCLUDED.uuid,
    pk = COALESCE(EXCLUDED.pk, d.pk),
    last_ip = COALESCE(EXCLUDED.last_ip, d.last_ip),
    last_seen_at = GREATEST(d.last_seen_at, EXCLUDED.last_seen_at),
    updated_at = now()
  WHERE d.uuid IS NULL OR d.uuid = EXCLUDED.uuid`;

/**
 * One INSERT for the whole batch (ids must be distinct: ON CONFLICT cannot touch a row twice).
 * The conflict branch only ever writes what the device itself reports (uuid, pk, address, last seen):
 * admission, ban, deletion, revocation and every admin field keep their stored values, so a write
 * that was queued before an admin acted can never undo it. A NULL pk or ip keeps the stored one.
 * A row already holding another uuid is left untouched: the id belongs to that machine, and a write
 * for a different one (whatever let it through) must not hand its id, and its admission, over.
 */
export function upsertRegistrationsStatement(rows: readonly RegistrationRow[]): PgStatement {
  const ids: string[] = [];
  const uuids: Uint8Array[] = [];
  const pks: (Uint8Array | null)[] = [];
  const ips: (string | null)[] = [];
  const seenAt: string[] = [];
  const admissions: string[] = [];
  for (const row of rows) {
    ids.push(row.rustdeskId);
    uuids.push(row.uuid);
    pks.push(row.pk);
    ips.push(row.ip);
    seenAt.push(row.seenAt.toISOString());
    admissions.push(row.admissionIfNew);
  }
  return {
    text: UPSERT_REGISTRATIONS,
    values: [ids, uuids, pks, ips, seenAt, admissions, SIGNAL_ADMISSION_ACTOR],
  };
}

export interface SeenRow {
  readonly rustdeskId: string;
  readonly ip: string | null;
  readonly seenAt: Date;
}

const TOUCH_LAST_SEEN = `
  UPDATE devices AS d SET
    last_seen_at = GREATEST(d.last_seen_at, v.seen_at),
    last_ip = COALESCE(v.ip, d.last_ip)
  FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS v(rustdesk_id, ip, seen_at)
  WHERE d.rustdesk_id = v.rustdesk_id`;

/**
 * One UPDATE for the whole batch, the batch passed as three arrays. Never moves last_seen_at
 * backwards; leaves updated_at alone: a heartbeat is not an edit. Ids with no row are skipped (their
 * registration creates the row).
 */
export function touchLastSeenStatement(rows: readonly SeenRow[]): PgStatement {
  const ids: string[] = [];
  const ips: (string | null)[] = [];
  const seenAt: string[] = [];
  for (const row of rows) {
    ids.push(row.rustdeskId);
    ips.push(row.ip);
    seenAt.push(row.seenAt.toISOString());
  }
  return { text: TOUCH_LAST_SEEN, values: [ids, ips, seenAt] };
}

/** Renames unless the new id is taken (a concurrent insert of it still fails on the unique index). */
export function changeIdSql(oldId: string, newId: string): Prisma.Sql {
  return Prisma.sql`
    UPDATE devices SET rustdesk_id = ${newId}, updated_at = now()
    WHERE rustdesk_id = ${oldId}
      AND NOT EXISTS (SELECT 1 FROM devices WHERE rustdesk_id = ${newId})`;
}

export function deviceExistsSql(rustdeskId: string): Prisma.Sql {
  return Prisma.sql`SELECT EXISTS (SELECT 1 FROM devices WHERE rustdesk_id = ${rustdeskId}) AS exists`;
}

export interface ExistsRow {
  exists: boolean;
}
