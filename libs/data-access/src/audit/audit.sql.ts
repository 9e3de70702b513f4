// The raw SQL of the audit chain's write path, kept here so it can be reviewed in one place.
// Reads (verify, list) go through the Prisma query builder in audit.repository.ts.
import {
  type AuditChainHead,
  type AuditEntry,
  canonicalJson,
  type SignedChainHead,
} from '@switchboard/audit';

import { Prisma } from '../generated/prisma/client';

/**
 * pg_advisory_xact_lock key that serialises every append to the chain, in every process: the ASCII
 * bytes of "sbaudit1" read as a big-endian int64. Nothing else may use this key.
 */
export const AUDIT_CHAIN_LOCK_KEY = 0x7362617564697431n;

/** The head record is audit_chain_head's only row. */
export const HEAD_ROW_ID = 1;

/**
 * Waits for the chain lock (held until the transaction ends) and reports the isolation level, in one
 * round trip. The head must be read by a LATER statement: in READ COMMITTED each statement takes its
 * snapshot when it starts, so a head read in this statement would predate the lock.
 */
export function lockChainSql(): Prisma.Sql {
  return Prisma.sql`
    SELECT current_setting('transaction_isolation') AS isolation
    FROM (SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_KEY})) AS chain_lock`;
}

export interface IsolationRow {
  isolation: string;
}

/**
 * What the next entry links to: the later of the head record and the last entry. Trusting the head
 * record keeps seqs climbing after the newest entries were deleted (or the table emptied), so the next
 * append leaves a gap that verify names instead of quietly re-using the lost seqs; the last entry covers
 * a chain written before the head record existed.
 */
export function readHeadSql(): Prisma.Sql {
  return Prisma.sql`
    SELECT seq, hash FROM (
      (SELECT seq, hash FROM audit_chain_head WHERE id = ${HEAD_ROW_ID})
      UNION ALL
      (SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1)
    ) AS heads
    ORDER BY seq DESC LIMIT 1`;
}

export interface HeadRow {
  seq: bigint;
  hash: Uint8Array;
}

export function toChainHead(row: HeadRow): AuditChainHead {
  return { seq: row.seq, hash: Buffer.from(row.hash) };
}

/**
 * One statement for the whole batch; details are written in canonical JSON (JSONB re-orders keys anyway).
 * Given the batch's signed head, the same statement rewrites the head record, so they commit together
 * at no extra round trip.
 */
export function insertEntriesSql(entries: readonly AuditEntry[], head?: SignedChainHead): Prisma.Sql {
  const rows = entries.map(
    (entry) => Prisma.sql`(
      ${entry.seq}, ${entry.at}::timestamptz, ${entry.actorType}, ${entry.actorId}, ${entry.action},
      ${entry.targetType}, ${entry.targetId}, ${entry.ip}, ${canonicalJson(entry.details)}::jsonb,
      ${entry.keyId}, ${entry.prevHash}, ${entry.hash})`,
  );
  const insert = Prisma.sql`
    INSERT INTO audit_entries
      (seq, at, actor_type, actor_id, action, target_type, target_id, ip, details, key_id, prev_hash, hash)
    VALUES ${Prisma.join(rows)}`;
  if (head === undefined) return insert;
  return Prisma.sql`
    WITH appended AS (${insert})
    INSERT INTO audit_chain_head (id, seq, hash, key_id, mac, updated_at)
    VALUES (${HEAD_ROW_ID}, ${head.seq}, ${head.hash}, ${head.keyId}, ${head.mac}, now())
    ON CONFLICT (id) DO UPDATE SET
      seq = EXCLUDED.seq, hash = EXCLUDED.hash, key_id = EXCLUDED.key_id, mac = EXCLUDED.mac,
      updated_at = EXCLUDED.updated_at`;
}
