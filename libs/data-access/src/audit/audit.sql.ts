// The raw SQL of the audit chain's write path, kept here so it can be reviewed in one place.
// Reads (verify, list) go through the Prisma query builder in audit.repository.ts.
import { type AuditChainHead, type AuditEntry, canonicalJson } from '@switchboard/audit';

import { Prisma } from '../generated/prisma/client';

/**
 * pg_advisory_xact_lock key that serialises every append to the chain, in every process: the ASCII
 * bytes of "sbaudit1" read as a big-endian int64. Nothing else may use this key.
 */
export const AUDIT_CHAIN_LOCK_KEY = 0x7362617564697431n;

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

export function readHeadSql(): Prisma.Sql {
  return Prisma.sql`SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1`;
}

export interface HeadRow {
  seq: bigint;
  hash: Uint8Array;
}

export function toChainHead(row: HeadRow): AuditChainHead {
  return { seq: row.seq, hash: Buffer.from(row.hash) };
}

/** One statement for the whole batch; details are written in canonical JSON (JSONB re-orders keys anyway). */
export function insertEntriesSql(entries: readonly AuditEntry[]): Prisma.Sql {
  const rows = entries.map(
    (entry) => Prisma.sql`(
      ${entry.seq}, ${entry.at}::timestamptz, ${entry.actorType}, ${entry.actorId}, ${entry.action},
      ${entry.targetType}, ${entry.targetId}, ${entry.ip}, ${canonicalJson(entry.details)}::jsonb,
      ${entry.keyId}, ${entry.prevHash}, ${entry.hash})`,
  );
  return Prisma.sql`
    INSERT INTO audit_entries
      (seq, at, actor_type, actor_id, action, target_type, target_id, ip, details, key_id, prev_hash, hash)
    VALUES ${Prisma.join(rows)}`;
}
