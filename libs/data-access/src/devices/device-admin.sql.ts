// The raw SQL behind the api's device administration (device-admin.repository.ts and
// device-deny-state.repository.ts), in one place to review. Everything else goes through Prisma's
// query builder.
import { Prisma } from '../generated/prisma/client';

/** `LIKE`'s metacharacters in user input match themselves: `\` first, or it would escape the others. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (char) => `\\${char}`);
}

export const DEVICE_OS_FAMILIES = ['windows', 'macos', 'linux', 'android', 'ios', 'other'] as const;
export type DeviceOsFamily = (typeof DEVICE_OS_FAMILIES)[number];

export interface DeviceListFilter {
  /** Seen at or after `onlineSince` (true) or not (false). */
  readonly online?: boolean;
  readonly onlineSince: Date;
  readonly banned?: boolean;
  readonly pending?: boolean;
  readonly admission?: 'admitted' | 'pending' | 'rejected';
  /** The os_family column (see the migration for the rule); 'unknown': devices that reported no os. */
  readonly os?: DeviceOsFamily | 'unknown';
  readonly tag?: string;
  /** A device group's id (uuid) or name. */
  readonly group?: string;
  /** false (default): live devices only; true: soft-deleted ones only. */
  readonly deleted?: boolean;
  /** Substring of the RustDesk id, hostname, OS username, note or owner's username (case-insensitive). */
  readonly q?: string;
}

/** What a device list can be ordered by; the RustDesk id breaks ties (it is unique). */
export const DEVICE_SORT_KEYS = ['rustdeskId', 'hostname', 'os', 'lastSeenAt', 'createdAt'] as const;
export type DeviceSortKey = (typeof DEVICE_SORT_KEYS)[number];

export interface DeviceListOrder {
  readonly sort: DeviceSortKey;
  readonly order: 'asc' | 'desc';
}

/** Where the previous page ended: its last row's sort key (null when that row had none) and id. */
export interface DeviceListPosition {
  readonly key: string | Date | null;
  readonly rustdeskId: string;
}

/**
 * The column behind each sort key, and whether it may be NULL. Each has a (column, rustdesk_id) btree
 * (migration 20261205100000_device_console_listing), so a page is one range scan of it, forwards or
 * backwards.
 */
const SORT_COLUMNS: Readonly<Record<DeviceSortKey, { column: Prisma.Sql; nullable: boolean }>> = {
  rustdeskId: { column: Prisma.raw('d.rustdesk_id'), nullable: false },
  hostname: { column: Prisma.raw('d.hostname'), nullable: true },
  os: { column: Prisma.raw('d.os'), nullable: true },
  lastSeenAt: { column: Prisma.raw('d.last_seen_at'), nullable: true },
  createdAt: { column: Prisma.raw('d.created_at'), nullable: false },
};

export function sortKeyIsNullable(sort: DeviceSortKey): boolean {
  return SORT_COLUMNS[sort].nullable;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A filter with its look-ups done first (the group's id, the owners whose username matches q), so
 * that the device query carries them as values: as sub-selects, the planner could not estimate them
 * (it assumed half the table matched) and walked a whole sort index for a group or search that
 * matched nothing.
 */
export interface ResolvedDeviceListFilter extends Omit<DeviceListFilter, 'group'> {
  readonly groupId?: string;
  /** Owners whose username contains q (case-insensitive); empty when none does. */
  readonly qOwnerIds?: readonly string[];
}

/** The device group a filter names, by id or by name. */
export function findGroupIdSql(group: string): Prisma.Sql {
  return UUID.test(group)
    ? Prisma.sql`SELECT id FROM device_groups WHERE id = ${group}::uuid`
    : Prisma.sql`SELECT id FROM device_groups WHERE name = ${group}`;
}

/** Users whose username contains q: operator accounts, a few thousand at most, so the list stays short. */
export function findOwnersMatchingSql(q: string): Prisma.Sql {
  return Prisma.sql`SELECT id FROM users WHERE username ILIKE ${likePattern(q)} ESCAPE '\\'`;
}

function likePattern(q: string): string {
  return `%${escapeLike(q)}%`;
}

/**
 * The WHERE clause of a device listing. Each condition is index-backed at 100k rows: the trigram GIN
 * indexes serve the `%q%` ILIKEs (from 3 characters: a shorter q has no trigram, so it is a scan), the
 * tags GIN index serves `@>`, btrees the rest.
 */
function listConditions(filter: ResolvedDeviceListFilter): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = [
    filter.deleted === true ? Prisma.sql`d.deleted_at IS NOT NULL` : Prisma.sql`d.deleted_at IS NULL`,
  ];
  if (filter.online === true) conditions.push(Prisma.sql`d.last_seen_at >= ${filter.onlineSince}`);
  if (filter.online === false) {
    conditions.push(Prisma.sql`(d.last_seen_at IS NULL OR d.last_seen_at < ${filter.onlineSince})`);
  }
  if (filter.banned !== undefined) conditions.push(Prisma.sql`d.banned = ${filter.banned}`);
  if (filter.pending === true) conditions.push(Prisma.sql`d.admission = 'pending'`);
  if (filter.pending === false) conditions.push(Prisma.sql`d.admission <> 'pending'`);
  if (filter.admission !== undefined) {
    conditions.push(Prisma.sql`d.admission = ${filter.admission}::device_admission`);
  }
  if (filter.os !== undefined) {
    conditions.push(
      filter.os === 'unknown' ? Prisma.sql`d.os_family IS NULL` : Prisma.sql`d.os_family = ${filter.os}`,
    );
  }
  if (filter.tag !== undefined) conditions.push(Prisma.sql`d.tags @> ARRAY[${filter.tag}]::text[]`);
  if (filter.groupId !== undefined) conditions.push(Prisma.sql`d.group_id = ${filter.groupId}::uuid`);
  if (filter.q !== undefined && filter.q !== '') {
    const pattern = likePattern(filter.q);
    const owners =
      filter.qOwnerIds === undefined || filter.qOwnerIds.length === 0
        ? Prisma.empty
        : Prisma.sql`OR d.owner_id = ANY(${[...filter.qOwnerIds]}::uuid[])`;
    conditions.push(Prisma.sql`(
      d.rustdesk_id ILIKE ${pattern} ESCAPE '\\'
      OR d.hostname ILIKE ${pattern} ESCAPE '\\'
      OR d.os_username ILIKE ${pattern} ESCAPE '\\'
      OR d.note ILIKE ${pattern} ESCAPE '\\'
      ${owners})`);
  }
  return conditions;
}

export interface DeviceListRow {
  rustdesk_id: string;
  hostname: string | null;
  os: string | null;
  os_family: string | null;
  version: string | null;
  last_ip: string | null;
  last_seen_at: Date | null;
  created_at: Date;
  tags: string[];
  note: string | null;
  admission: 'admitted' | 'pending' | 'rejected';
  banned: boolean;
  ban_reason: string | null;
  deleted_at: Date | null;
  revoked_at: Date | null;
  group_id: string | null;
  group_name: string | null;
  owner_id: string | null;
  owner_username: string | null;
}

/**
 * Which part of a nullable key's order a query reads: rows with a key, then (always last, in either
 * direction) rows without one. Two range scans of the same (key, id) index, rather than one query
 * whose `OR key IS NULL` no index could serve.
 */
export type DeviceListSegment = 'keyed' | 'unkeyed';

/**
 * How a page's query finds its rows (the planner, left alone, walked a whole sort index when a filter
 * matched nothing near the cursor, or gave a sub-select's match a default guess of half the table):
 * - `probe`: read the next `rows` rows of the segment in sort order (one index range scan, no
 *   filter), and keep those that match. When that fills the page it is exactly the page; when not,
 *   the matches are sparse here and the caller asks again with
 * - `matches`: find every match after the cursor first (bitmap scans of the filter's own indexes, or
 *   one pass over the table), then sort them: bounded by the number of matches, never a walk.
 */
export type DeviceListPlan = { readonly probe: number } | 'matches';

/**
 * One segment of a page in the requested order, after `after` (keyset), `limit` rows. For a key that
 * cannot be NULL there is one segment, 'keyed'. Ties on the key are broken by the RustDesk id, in the
 * same direction.
 */
export function listDevicesSql(
  filter: ResolvedDeviceListFilter,
  order: DeviceListOrder,
  segment: DeviceListSegment,
  after: DeviceListPosition | undefined,
  limit: number,
  plan: DeviceListPlan,
): Prisma.Sql {
  const { column, nullable } = SORT_COLUMNS[order.sort];
  const desc = order.order === 'desc';
  const direction = Prisma.raw(desc ? 'DESC' : 'ASC');
  const beyond = Prisma.raw(desc ? '<' : '>');
  // Where the segment continues: the keyset position, and which side of NULL.
  const range: Prisma.Sql[] = [];
  if (order.sort === 'rustdeskId') {
    if (after !== undefined) range.push(Prisma.sql`d.rustdesk_id ${beyond} ${after.rustdeskId}`);
  } else if (segment === 'keyed') {
    if (nullable) range.push(Prisma.sql`${column} IS NOT NULL`);
    if (after !== undefined && after.key !== null) {
      const key =
        after.key instanceof Date ? Prisma.sql`${after.key}::timestamptz` : Prisma.sql`${after.key}`;
      range.push(Prisma.sql`(${column}, d.rustdesk_id) ${beyond} (${key}, ${after.rustdeskId})`);
    }
  } else {
    range.push(Prisma.sql`${column} IS NULL`);
    if (after !== undefined && after.key === null) {
      range.push(Prisma.sql`d.rustdesk_id ${beyond} ${after.rustdeskId}`);
    }
  }
  const orderBy =
    order.sort === 'rustdeskId'
      ? Prisma.sql`d.rustdesk_id ${direction}`
      : Prisma.sql`${column} ${direction}, d.rustdesk_id ${direction}`;
  const where = (conditions: Prisma.Sql[]) =>
    conditions.length === 0 ? Prisma.empty : Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}`;
  // MATERIALIZED keeps the planner from pushing the outer ORDER BY ... LIMIT back into a walk.
  const rows =
    plan === 'matches'
      ? Prisma.sql`(WITH m AS MATERIALIZED (SELECT * FROM devices d ${where([...range, ...listConditions(filter)])})
          SELECT * FROM m d)`
      : Prisma.sql`(SELECT * FROM devices d ${where(range)} ORDER BY ${orderBy} LIMIT ${plan.probe})`;
  const conditions = plan === 'matches' ? [] : listConditions(filter);
  return Prisma.sql`
    SELECT d.rustdesk_id, d.hostname, d.os, d.os_family, d.version, d.last_ip, d.last_seen_at,
           d.created_at, d.tags, d.note, d.admission::text AS admission, d.banned, d.ban_reason,
           d.deleted_at, d.revoked_at,
           g.id AS group_id, g.name AS group_name, u.id AS owner_id, u.username AS owner_username
    FROM ${rows} d
    LEFT JOIN device_groups g ON g.id = d.group_id
    LEFT JOIN users u ON u.id = d.owner_id
    ${where(conditions)}
    ORDER BY ${orderBy}
    LIMIT ${limit}`;
}

export function countDevicesSql(filter: ResolvedDeviceListFilter): Prisma.Sql {
  return Prisma.sql`SELECT count(*)::int AS count FROM devices d WHERE ${Prisma.join(listConditions(filter), ' AND ')}`;
}

export interface CountRow {
  count: number;
}

export interface LockedDeviceRow {
  id: string;
  rustdesk_id: string;
  admission: 'admitted' | 'pending' | 'rejected';
  banned: boolean;
  deleted: boolean;
  revoked: boolean;
  uuid: Uint8Array | null;
  registration_token_id: string | null;
}

const LOCKED_COLUMNS = Prisma.raw(`id, rustdesk_id, admission::text AS admission, banned,
  deleted_at IS NOT NULL AS deleted, revoked_at IS NOT NULL AS revoked, uuid, registration_token_id`);

/**
 * Row locks are what make racing admin actions on one device end consistent: every change to a
 * device's admin state reads it with FOR UPDATE first, so a second ban/unban/revoke waits for the
 * first to commit and then decides on what it left.
 */
export function lockDeviceSql(rustdeskId: string): Prisma.Sql {
  return Prisma.sql`SELECT ${LOCKED_COLUMNS} FROM devices WHERE rustdesk_id = ${rustdeskId} FOR UPDATE`;
}

/** Several rows, locked in id order so two transactions locking overlapping sets cannot deadlock. */
export function lockDevicesSql(rustdeskIds: readonly string[]): Prisma.Sql {
  return Prisma.sql`
    SELECT ${LOCKED_COLUMNS} FROM devices WHERE rustdesk_id = ANY(${[...rustdeskIds]}::text[])
    ORDER BY rustdesk_id FOR UPDATE`;
}

/** The same columns without a lock: what a dry run decides on (it changes nothing, so it holds nothing). */
export function readDevicesSql(rustdeskIds: readonly string[]): Prisma.Sql {
  return Prisma.sql`
    SELECT ${LOCKED_COLUMNS} FROM devices WHERE rustdesk_id = ANY(${[...rustdeskIds]}::text[])`;
}

export interface StrategyRow {
  id: string;
  name: string;
  via: 'device' | 'user' | 'group';
}

/**
 * The strategy a device's heartbeat gets, with the same priority as apps/api/src/strategies
 * (effective-strategies.ts): its own assignment, else its owner's, else its device group's.
 */
export function effectiveStrategySql(deviceId: string): Prisma.Sql {
  return Prisma.sql`
    SELECT s.id, s.name, a.via FROM (
      SELECT strategy_id, 'device' AS via, 1 AS rank FROM strategy_assignments
        WHERE device_id = ${deviceId}::uuid
      UNION ALL
      SELECT a.strategy_id, 'user', 2 FROM strategy_assignments a
        JOIN devices d ON d.owner_id = a.user_id WHERE d.id = ${deviceId}::uuid
      UNION ALL
      SELECT a.strategy_id, 'group', 3 FROM strategy_assignments a
        JOIN devices d ON d.group_id = a.device_group_id WHERE d.id = ${deviceId}::uuid
    ) a JOIN strategies s ON s.id = a.strategy_id
    ORDER BY a.rank LIMIT 1`;
}

/**
 * A row for an id the api is about to act on (a ban or a deploy of an id never seen). Created as
 * `pending` so that, once unbanned, it is admitted by nothing but the policy that would admit a
 * newcomer. A concurrent insert of the same id makes this a no-op (the caller then locks the row).
 */
export function insertPlaceholderSql(rustdeskId: string): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO devices (rustdesk_id, admission) VALUES (${rustdeskId}, 'pending')
    ON CONFLICT (rustdesk_id) DO NOTHING
    RETURNING id`;
}

export interface IdRow {
  id: string;
}

/**
 * The devices linked to `rustdeskId` through device_links, transitively, in both directions (a link
 * is symmetric for revocation), the device itself excluded. UNION drops repeats, so cycles end.
 * Stops after `limit` rows so a caller can tell an oversized component without walking all of it.
 */
export function linkedComponentSql(rustdeskId: string, limit: number): Prisma.Sql {
  return Prisma.sql`
    WITH RECURSIVE component(id) AS (
      SELECT id FROM devices WHERE rustdesk_id = ${rustdeskId}
      UNION
      SELECT CASE WHEN l.device_id = c.id THEN l.linked_device_id ELSE l.device_id END
      FROM component c
      JOIN device_links l ON l.device_id = c.id OR l.linked_device_id = c.id
    )
    SELECT d.rustdesk_id FROM component c JOIN devices d ON d.id = c.id
    WHERE d.rustdesk_id <> ${rustdeskId}
    ORDER BY d.rustdesk_id
    LIMIT ${limit}`;
}

export interface RustdeskIdRow {
  rustdesk_id: string;
}

export interface LinkRow {
  rustdesk_id: string;
  created_at: Date;
}

/** Direct links of one device, whichever side it was created from. */
export function directLinksSql(deviceId: string): Prisma.Sql {
  return Prisma.sql`
    SELECT d.rustdesk_id, l.created_at FROM device_links l
    JOIN devices d ON d.id = CASE WHEN l.device_id = ${deviceId}::uuid THEN l.linked_device_id ELSE l.device_id END
    WHERE l.device_id = ${deviceId}::uuid OR l.linked_device_id = ${deviceId}::uuid
    ORDER BY d.rustdesk_id`;
}

// ─── the relays' deny set (device-deny-state.repository.ts) ───────────────────

/** What the relays' Redis deny set must hold: banned, revoked or soft-deleted. */
const DENIED = Prisma.raw('(banned OR revoked_at IS NOT NULL OR deleted_at IS NOT NULL)');

/** Key space of the per-id advisory locks (two-int form, apart from the audit chain's bigint lock). */
export const DENY_LOCK_CLASS = 0x5344_4e59; // "SDNY"

/**
 * Transaction-scoped advisory locks on RustDesk ids, taken in key order (no deadlocks between
 * overlapping sets). Advisory rather than row locks because an id with no row (hard-deleted, or a
 * stale Redis entry) must be lockable too.
 */
export function lockDenyKeysSql(rustdeskIds: readonly string[]): Prisma.Sql {
  return Prisma.sql`
    SELECT count(*)::int AS count FROM (
      SELECT pg_advisory_xact_lock(${DENY_LOCK_CLASS}::int, k)
      FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest(${[...rustdeskIds]}::text[]) AS id ORDER BY k) AS keys
    ) AS locked`;
}

export function deniedAmongSql(rustdeskIds: readonly string[]): Prisma.Sql {
  return Prisma.sql`
    SELECT rustdesk_id FROM devices WHERE rustdesk_id = ANY(${[...rustdeskIds]}::text[]) AND ${DENIED}`;
}

/** Every denied id in id order, a page at a time (keyset on the unique index). */
export function deniedPageSql(after: string, limit: number): Prisma.Sql {
  return Prisma.sql`
    SELECT rustdesk_id FROM devices WHERE ${DENIED} AND rustdesk_id > ${after}
    ORDER BY rustdesk_id LIMIT ${limit}`;
}

// ─── registration tokens ──────────────────────────────────────────────────────

/**
 * Takes one use of a token, atomically: the row is locked by the UPDATE and the WHERE re-checked on
 * the latest version (READ COMMITTED), so concurrent deploys can never exceed max_uses.
 */
export function consumeRegistrationTokenSql(tokenId: string, now: Date): Prisma.Sql {
  return Prisma.sql`
    UPDATE registration_tokens SET use_count = use_count + 1
    WHERE id = ${tokenId}::uuid AND revoked_at IS NULL
      AND (expires_at IS NULL OR expires_at > ${now})
      AND (max_uses IS NULL OR use_count < max_uses)
    RETURNING use_count`;
}

export interface UseCountRow {
  use_count: number;
}
