// The raw SQL behind the RustDesk client's group tab (docs/client-api.md §5), kept in one place so
// the visibility rules can be reviewed together. Paging happens here, in the database: a caller
// with 10,000 visible devices must not cost 10,000 rows per page.
import { Prisma } from '../generated/prisma/client';

/** Whose view: an admin sees everyone; anyone else what the access rules give them. */
export interface ClientAccessScope {
  readonly userId: string;
  readonly isAdmin: boolean;
}

export interface CountRow {
  total: bigint;
}

export interface ClientUserRow {
  id: string;
  username: string;
  display_name: string | null;
  email: string | null;
  note: string | null;
  role: string;
}

export interface ClientPeerRow {
  rustdesk_id: string;
  hostname: string | null;
  os: string | null;
  os_username: string | null;
  note: string | null;
  owner_id: string | null;
  owner_username: string | null;
  group_name: string | null;
}

export interface ClientDeviceGroupRow {
  name: string;
}

/** The user groups the caller belongs to. */
function callerGroupsSql(scope: ClientAccessScope): Prisma.Sql {
  return Prisma.sql`SELECT user_group_id FROM user_group_members WHERE user_id = ${scope.userId}::uuid`;
}

/**
 * Users a non-admin may see: themself, the members of their own groups (as in RustDesk Server Pro,
 * where a user group's members reach each other's devices), and the members of every group one of
 * their groups has a rule for.
 */
function visibleUserIdsSql(scope: ClientAccessScope): Prisma.Sql {
  return Prisma.sql`SELECT ${scope.userId}::uuid AS id
    UNION SELECT m.user_id FROM user_group_members m
      WHERE m.user_group_id IN (${callerGroupsSql(scope)})
    UNION SELECT m.user_id FROM user_group_members m
      JOIN user_group_user_group_access a ON a.target_user_group_id = m.user_group_id
      WHERE a.user_group_id IN (${callerGroupsSql(scope)})`;
}

/** Device groups a non-admin may see: those one of their groups has a rule for. */
function visibleDeviceGroupIdsSql(scope: ClientAccessScope): Prisma.Sql {
  return Prisma.sql`SELECT a.device_group_id FROM user_group_device_group_access a
    WHERE a.user_group_id IN (${callerGroupsSql(scope)})`;
}

// ─── users ────────────────────────────────────────────────────────────────────

function usersWhereSql(scope: ClientAccessScope): Prisma.Sql {
  // A disabled user never appears, whoever asks.
  const visible = scope.isAdmin ? Prisma.empty : Prisma.sql`AND u.id IN (${visibleUserIdsSql(scope)})`;
  return Prisma.sql`WHERE NOT u.disabled ${visible}`;
}

/** By username: unique, so pages never overlap or skip. */
export function listClientUsersSql(scope: ClientAccessScope, offset: number, limit: number): Prisma.Sql {
  return Prisma.sql`SELECT u.id::text AS id, u.username, u.display_name, u.email, u.note, u.role::text AS role
    FROM users u ${usersWhereSql(scope)}
    ORDER BY u.username LIMIT ${limit} OFFSET ${offset}`;
}

export function countClientUsersSql(scope: ClientAccessScope): Prisma.Sql {
  return Prisma.sql`SELECT count(*) AS total FROM users u ${usersWhereSql(scope)}`;
}

// ─── devices ──────────────────────────────────────────────────────────────────

/** The usable devices the scope may see, as a WHERE over `devices d` (no joins: it must stay cheap per row). */
function peersWhereSql(scope: ClientAccessScope): Prisma.Sql {
  // Only devices that could be reached: admitted, not banned, not deleted (revoked implies deleted),
  // and not owned by a disabled user (disabling a user shuts their devices off, as in Pro).
  const visible = scope.isAdmin
    ? Prisma.empty
    : Prisma.sql`AND (d.owner_id IN (${visibleUserIdsSql(scope)})
        OR d.group_id IN (${visibleDeviceGroupIdsSql(scope)}))`;
  return Prisma.sql`WHERE d.deleted_at IS NULL AND d.admission = 'admitted' AND NOT d.banned
    AND (d.owner_id IS NULL OR d.owner_id NOT IN (SELECT id FROM users WHERE disabled)) ${visible}`;
}

/**
 * By RustDesk id: unique, so pages never overlap or skip. The page is cut from `devices` alone and
 * only its rows are joined to their owner and group, so a deep page does not join every row before it.
 */
export function listClientPeersSql(scope: ClientAccessScope, offset: number, limit: number): Prisma.Sql {
  return Prisma.sql`SELECT p.rustdesk_id, p.hostname, p.os, p.os_username, p.note,
      o.id::text AS owner_id, o.username AS owner_username, g.name AS group_name
    FROM (
      SELECT d.rustdesk_id, d.hostname, d.os, d.os_username, d.note, d.owner_id, d.group_id
      FROM devices d ${peersWhereSql(scope)}
      ORDER BY d.rustdesk_id LIMIT ${limit} OFFSET ${offset}
    ) p
    LEFT JOIN users o ON o.id = p.owner_id
    LEFT JOIN device_groups g ON g.id = p.group_id
    ORDER BY p.rustdesk_id`;
}

export function countClientPeersSql(scope: ClientAccessScope): Prisma.Sql {
  return Prisma.sql`SELECT count(*) AS total FROM devices d ${peersWhereSql(scope)}`;
}

// ─── device groups ────────────────────────────────────────────────────────────

function deviceGroupsWhereSql(scope: ClientAccessScope): Prisma.Sql {
  return scope.isAdmin ? Prisma.empty : Prisma.sql`WHERE g.id IN (${visibleDeviceGroupIdsSql(scope)})`;
}

export function listClientDeviceGroupsSql(
  scope: ClientAccessScope,
  offset: number,
  limit: number,
): Prisma.Sql {
  return Prisma.sql`SELECT g.name FROM device_groups g ${deviceGroupsWhereSql(scope)}
    ORDER BY g.name LIMIT ${limit} OFFSET ${offset}`;
}

export function countClientDeviceGroupsSql(scope: ClientAccessScope): Prisma.Sql {
  return Prisma.sql`SELECT count(*) AS total FROM device_groups g ${deviceGroupsWhereSql(scope)}`;
}
