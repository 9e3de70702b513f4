// The raw SQL of address books, kept beside AddressBookRepository: rule resolution over users and
// user groups, the shared-book listing, and the tag cascades into every peer's tags.
import { Prisma } from '../generated/prisma/client';

export interface RuleRow {
  rule: number | null;
}

/** The best rule a user holds on a book: their own, or any of their groups'. NULL when none. */
export function bestRuleSql(addressBookId: string, userId: string): Prisma.Sql {
  return Prisma.sql`SELECT MAX(rule)::int AS rule FROM (
      SELECT rule FROM address_book_rules
       WHERE address_book_id = ${addressBookId}::uuid AND user_id = ${userId}::uuid
      UNION ALL
      SELECT r.rule FROM address_book_group_rules r
        JOIN user_group_members m ON m.user_group_id = r.user_group_id
       WHERE r.address_book_id = ${addressBookId}::uuid AND m.user_id = ${userId}::uuid
    ) AS rules`;
}

export interface SharedBookRow {
  id: string;
  name: string;
  note: string | null;
  owner: string;
  password_sealed: Uint8Array | null;
  rule: number;
  total: bigint;
}

/**
 * One page of the shared books a user may open, with their best rule: every book for `everything`
 * (admins, full control), else the books they own (full control) or hold a rule on. `total` rides
 * on every row (a window count), so one query answers the page and its total.
 */
export function sharedBooksForUserSql(
  userId: string,
  everything: boolean,
  offset: number,
  limit: number,
): Prisma.Sql {
  return Prisma.sql`SELECT * FROM (
      SELECT b.id::text AS id, b.name, b.note, u.username AS owner, b.password_sealed,
             CASE WHEN ${everything} OR b.owner_id = ${userId}::uuid THEN 3
                  ELSE (SELECT MAX(rule) FROM (
                          SELECT rule FROM address_book_rules
                           WHERE address_book_id = b.id AND user_id = ${userId}::uuid
                          UNION ALL
                          SELECT r.rule FROM address_book_group_rules r
                            JOIN user_group_members m ON m.user_group_id = r.user_group_id
                           WHERE r.address_book_id = b.id AND m.user_id = ${userId}::uuid) AS rules)
             END::int AS rule
        FROM address_books b JOIN users u ON u.id = b.owner_id
       WHERE b.kind = 'shared'
    ) AS books
    WHERE rule IS NOT NULL
    ORDER BY name, id
    OFFSET ${offset} LIMIT ${limit}`;
}

export function countSharedBooksForUserSql(userId: string, everything: boolean): Prisma.Sql {
  return Prisma.sql`SELECT COUNT(*) AS total FROM address_books b
    WHERE b.kind = 'shared' AND (${everything} OR b.owner_id = ${userId}::uuid
      OR EXISTS (SELECT 1 FROM address_book_rules
                  WHERE address_book_id = b.id AND user_id = ${userId}::uuid)
      OR EXISTS (SELECT 1 FROM address_book_group_rules r
                   JOIN user_group_members m ON m.user_group_id = r.user_group_id
                  WHERE r.address_book_id = b.id AND m.user_id = ${userId}::uuid))`;
}

/** Renames a tag inside every peer's tags, without doubling it where the new name is already there. */
export function renameTagInPeersSql(addressBookId: string, from: string, to: string): Prisma.Sql {
  return Prisma.sql`UPDATE address_book_peers
       SET tags = CASE WHEN ${to} = ANY(tags) THEN array_remove(tags, ${from})
                       ELSE array_replace(tags, ${from}, ${to}) END,
           updated_at = now()
     WHERE address_book_id = ${addressBookId}::uuid AND ${from} = ANY(tags)`;
}

/** Takes tags off every peer of a book. */
export function removeTagsFromPeersSql(addressBookId: string, names: readonly string[]): Prisma.Sql {
  return Prisma.sql`UPDATE address_book_peers
       SET tags = ARRAY(SELECT t FROM unnest(tags) AS t WHERE NOT (t = ANY(${names}::text[]))),
           updated_at = now()
     WHERE address_book_id = ${addressBookId}::uuid AND tags && ${names}::text[]`;
}

/** Serialises changes of one book until the transaction ends (limits, cascades, the legacy replace). */
export function lockBookSql(addressBookId: string): Prisma.Sql {
  return Prisma.sql`SELECT id FROM address_books WHERE id = ${addressBookId}::uuid FOR UPDATE`;
}

/**
 * Serialises creating and renaming shared books, so two cannot take one name: the client keys books
 * by name and would show only one of them. Two int4 keys: a namespace ("sbab") and 0.
 */
export function lockSharedNamesSql(): Prisma.Sql {
  return Prisma.sql`SELECT pg_advisory_xact_lock(${SHARED_NAMES_LOCK_NAMESPACE}::int4, 0)`;
}

/** ASCII "sbab" as a signed int4; nothing else may use this namespace. */
export const SHARED_NAMES_LOCK_NAMESPACE = 0x73626162;
