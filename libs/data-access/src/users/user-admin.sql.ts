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
 * Locks every enabled admin row until the transaction ends, always in id order so two lockers never
 * deadlock. A concurrent transaction that demoted, disabled or deleted one of them has committed by
 * the time we get its lock, and READ COMMITTED re-checks the WHERE on the new row version: it drops
 * out of the result. So the count this returns is the one that holds at commit.
 */
export function lockEnabledAdminsSql(): Prisma.Sql {
  return Prisma.sql`SELECT id::text AS id FROM users WHERE role = 'admin' AND disabled = false
    ORDER BY id FOR UPDATE`;
}

export function lockUserSql(id: string): Prisma.Sql {
  return Prisma.sql`SELECT id::text AS id FROM users WHERE id = ${id}::uuid FOR UPDATE`;
}
