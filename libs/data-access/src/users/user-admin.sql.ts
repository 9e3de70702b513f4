// The raw SQL of users administration, kept beside UserAdminRepository so it can be reviewed in one
// place: the search (Prisma's `contains` does not escape LIKE wildcards) and the last-admin lock.
import { Prisma } from '../generated/prisma/client';
import { type UserRole } from './user.repository';

export interface UserSearchFilter {
  search?: string;
  role?: UserRole;
  disabled?: boolean;
}

/** `%`, `_` and the escape character itself match literally once escaped (ESCAPE '\'). */
export function escapeLikePattern(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

function whereSql(filter: UserSearchFilter): Prisma.Sql {
  const conditions: Prisma.Sql[] = [];
  if (filter.search !== undefined && filter.search !== '') {
    const pattern = `%${escapeLikePattern(filter.search)}%`;
    conditions.push(Prisma.sql`(username ILIKE ${pattern} ESCAPE '\\'
      OR display_name ILIKE ${pattern} ESCAPE '\\'
      OR email ILIKE ${pattern} ESCAPE '\\')`);
  }
  if (filter.role !== undefined) conditions.push(Prisma.sql`role = ${filter.role}::role`);
  if (filter.disabled !== undefined) conditions.push(Prisma.sql`disabled = ${filter.disabled}`);
  return conditions.length === 0 ? Prisma.empty : Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}`;
}

export interface UserIdRow {
  id: string;
}

export interface CountRow {
  total: bigint;
}

/** One page of matching ids, by username (unique, so the order is total and pages never overlap). */
export function searchUserIdsSql(filter: UserSearchFilter, offset: number, limit: number): Prisma.Sql {
  return Prisma.sql`SELECT id::text AS id FROM users ${whereSql(filter)}
    ORDER BY username LIMIT ${limit} OFFSET ${offset}`;
}

export function countUsersSql(filter: UserSearchFilter): Prisma.Sql {
  return Prisma.sql`SELECT count(*) AS total FROM users ${whereSql(filter)}`;
}

/**
 * pg_advisory_xact_lock key that serialises every change which could remove an enabled admin
 * (demote, disable, delete), in every api replica: the ASCII bytes of "sbadmins" as a big-endian
 * int64. Distinct from the audit chain's key; nothing else may use it.
 */
export const ADMIN_REMOVAL_LOCK_KEY = 0x736261646d696e73n;

/*
 * Why an advisory lock and not `SELECT ... FOR UPDATE` on the enabled admin rows: with several such
 * lockers and the row versions their updates create, Postgres' tuple-lock queue can deadlock (seen
 * with five admins demoting each other at once). One lock taken first, by everyone, cannot.
 */
export function lockAdminRemovalSql(): Prisma.Sql {
  return Prisma.sql`SELECT pg_advisory_xact_lock(${ADMIN_REMOVAL_LOCK_KEY})`;
}

/**
 * Run as its own statement after lockAdminRemovalSql: under READ COMMITTED each statement gets a
 * fresh snapshot, so this one sees every removal that committed before we got the lock. (In one
 * statement with the lock, the snapshot could predate it.)
 */
export function enabledAdminIdsSql(): Prisma.Sql {
  return Prisma.sql`SELECT id::text AS id FROM users WHERE role = 'admin' AND disabled = false ORDER BY id`;
}

export function lockUserSql(id: string): Prisma.Sql {
  return Prisma.sql`SELECT id::text AS id FROM users WHERE id = ${id}::uuid FOR UPDATE`;
}
