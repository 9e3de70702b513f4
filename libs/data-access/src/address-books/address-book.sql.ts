// The raw SQL of address books, kept beside AddressBookRepository: rule resolution over users and
// user groups, the shared-book listing, the client's peer pages, and the tag cascades into every
// peer's tags.
import { Prisma } from '../generated/prisma/client';

/** The caller's best rule on a shared book they do not own: their own, or any of their groups'. */
function heldRuleSql(addressBookId: Prisma.Sql, userId: string): Prisma.Sql {
  return Prisma.sql`(SELECT MAX(rule) FROM (
      SELECT rule FROM address_book_rules
       WHERE address_book_id = ${addressBookId} AND user_id = ${userId}::uuid
      UNION ALL
      SELECT r.rule FROM address_book_group_rules r
        JOIN user_group_members m ON m.user_group_id = r.user_group_id
       WHERE r.address_book_id = ${addressBookId} AND m.user_id = ${userId}::uuid
    ) AS rules)`;
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
                  ELSE ${heldRuleSql(Prisma.sql`b.id`, userId)}
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

export interface BookWithRuleRow {
  id: string;
  owner_id: string;
  owner_username: string;
  kind: 'personal' | 'shared';
  name: string;
  note: string | null;
  password_sealed: Uint8Array | null;
  updated_at: Date;
  held_rule: number | null;
}

/**
 * A book with its owner's name and, for a shared book the user does not own, the best rule they hold
 * (NULL when none): every read and write opens its book this way, in one round trip.
 */
export function bookWithRuleSql(addressBookId: string, userId: string): Prisma.Sql {
  return Prisma.sql`SELECT b.id::text AS id, b.owner_id::text AS owner_id, u.username AS owner_username,
           b.kind::text AS kind, b.name, b.note, b.password_sealed, b.updated_at,
           CASE WHEN b.kind = 'shared' AND b.owner_id <> ${userId}::uuid
                THEN ${heldRuleSql(Prisma.sql`b.id`, userId)} END::int AS held_rule
      FROM address_books b JOIN users u ON u.id = b.owner_id
     WHERE b.id = ${addressBookId}::uuid`;
}

export interface PeerPageRow {
  total: bigint;
  /** The peer columns are NULL on the one row that answers a page past the end. */
  rustdesk_id: string | null;
  alias: string | null;
  hash_sealed: Uint8Array | null;
  password_sealed: Uint8Array | null;
  username: string | null;
  hostname: string | null;
  platform: string | null;
  tags: string[] | null;
  note: string | null;
  force_always_relay: boolean | null;
  rdp_port: string | null;
  rdp_username: string | null;
  login_name: string | null;
  device_group_name: string | null;
  same_server: boolean | null;
}

/**
 * One page of a book's peers by peer id, and the book's peer count, in one statement (one snapshot).
 * The OFFSET walks peer ids only, which the (address_book_id, rustdesk_id) unique index holds in
 * order (index-only once vacuumed); whole rows are read for the page alone. When the planner thinks
 * the book small (just imported, not yet analyzed) it sorts the book instead of walking the index,
 * and sorting ids rather than whole rows is what keeps that case cheap. The LIMIT 1 keeps each row a
 * probe of that index: as a plain join it is planned as a hash join over the whole book. A page past
 * the end is one row with the total and NULL peer columns.
 */
export function peerPageSql(addressBookId: string, offset: number, limit: number): Prisma.Sql {
  return Prisma.sql`SELECT t.total, p.rustdesk_id, p.alias, p.hash_sealed, p.password_sealed, p.username,
           p.hostname, p.platform, p.tags, p.note, p.force_always_relay, p.rdp_port, p.rdp_username,
           p.login_name, p.device_group_name, p.same_server
      FROM (SELECT COUNT(*) AS total FROM address_book_peers
             WHERE address_book_id = ${addressBookId}::uuid) AS t
      LEFT JOIN (
        SELECT rustdesk_id FROM address_book_peers
         WHERE address_book_id = ${addressBookId}::uuid
         ORDER BY rustdesk_id OFFSET ${offset} LIMIT ${limit}
      ) AS page ON true
      LEFT JOIN LATERAL (
        SELECT * FROM address_book_peers
         WHERE address_book_id = ${addressBookId}::uuid AND rustdesk_id = page.rustdesk_id
         LIMIT 1
      ) AS p ON true
     ORDER BY page.rustdesk_id`;
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
