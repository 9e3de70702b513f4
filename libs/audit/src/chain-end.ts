import { timingSafeEqual } from 'node:crypto';

import { type AuditChainHead } from './audit-entry';
import { type AuditKeyring } from './audit-keyring';
import {
  type AuditCheckpoint,
  isAuthenticChainHead,
  isAuthenticCheckpoint,
  type SignedChainHead,
} from './chain-head';
import { type ChainBreak } from './chain-verifier';

/**
 * Why an intact chain still does not end where it should:
 * - `head record missing`: entries exist but the head row was deleted;
 * - `head record invalid`: the head row's MAC does not verify (edited, or a key retired too early);
 * - `head record mismatch`: the head row names a seq the chain holds with another hash, or an older
 *   seq than the chain's end (rolled back to an earlier copy);
 * - `missing tail`: the head row or a checkpoint names a seq past the chain's end (entries deleted);
 * - `checkpoint invalid`: a checkpoint outside Postgres does not verify (tampered with where it is kept);
 * - `chain restarted`: a checkpoint's seq holds another entry now, or seq 1 is not the checkpoint's
 *   (the log was emptied, or cut, and written again).
 */
export type AuditEndBreakReason =
  | 'head record missing'
  | 'head record invalid'
  | 'head record mismatch'
  | 'missing tail'
  | 'checkpoint invalid'
  | 'chain restarted';

/** A checkpoint as read from where it is kept; `unreadable` when something is there but it is not one. */
export interface CheckpointReading {
  /** Where it was kept (`file`, `redis`), named in the detail of a break. */
  readonly source: string;
  readonly checkpoint: AuditCheckpoint | 'unreadable';
}

export interface ChainEndFacts {
  /** The last entry the walk verified (seq 0 for an empty chain). */
  readonly chainEnd: AuditChainHead;
  /** The hash of seq 1, null for an empty chain. */
  readonly firstHash: Buffer | null;
  readonly headRecord: SignedChainHead | null;
  readonly checkpoints: readonly CheckpointReading[];
  /** The hash the chain holds now at a seq no later than its end. */
  readonly hashAt: (seq: bigint) => Buffer | undefined;
}

/**
 * Checks an intact walk's end against the head record, then against each checkpoint, and names the first
 * disagreement. `brokenSeq` is the first seq that cannot be trusted: after a cut, the one past the end.
 */
export function checkChainEnd(facts: ChainEndFacts, keyring: AuditKeyring): ChainBreak | null {
  return checkHeadRecord(facts, keyring) ?? firstCheckpointBreak(facts, keyring);
}

function checkHeadRecord(facts: ChainEndFacts, keyring: AuditKeyring): ChainBreak | null {
  const { chainEnd, headRecord } = facts;
  const afterEnd = chainEnd.seq + 1n;
  if (headRecord === null) {
    if (chainEnd.seq === 0n) return null;
    return {
      brokenSeq: afterEnd,
      reason: 'head record missing',
      detail: `the chain ends at seq ${chainEnd.seq} but there is no head record`,
    };
  }
  if (!isAuthenticChainHead(headRecord, keyring)) {
    return {
      brokenSeq: afterEnd,
      reason: 'head record invalid',
      detail: `the head record (seq ${headRecord.seq}, key id "${headRecord.keyId}") does not match its MAC`,
    };
  }
  if (headRecord.seq > chainEnd.seq) {
    return {
      brokenSeq: afterEnd,
      reason: 'missing tail',
      detail: `the head record says seq ${headRecord.seq}; the chain ends at seq ${chainEnd.seq}`,
    };
  }
  if (headRecord.seq < chainEnd.seq || !sameHash(headRecord.hash, chainEnd.hash)) {
    return {
      brokenSeq: afterEnd,
      reason: 'head record mismatch',
      detail: `the head record (seq ${headRecord.seq}) is not the chain's last entry (seq ${chainEnd.seq})`,
    };
  }
  return null;
}

function firstCheckpointBreak(facts: ChainEndFacts, keyring: AuditKeyring): ChainBreak | null {
  for (const reading of facts.checkpoints) {
    const found = checkCheckpoint(facts, reading, keyring);
    if (found !== null) return found;
  }
  return null;
}

function checkCheckpoint(
  { chainEnd, firstHash, hashAt }: ChainEndFacts,
  { source, checkpoint }: CheckpointReading,
  keyring: AuditKeyring,
): ChainBreak | null {
  const afterEnd = chainEnd.seq + 1n;
  if (checkpoint === 'unreadable' || !isAuthenticCheckpoint(checkpoint, keyring)) {
    return {
      brokenSeq: afterEnd,
      reason: 'checkpoint invalid',
      detail: `the ${source} checkpoint is not one this server signed`,
    };
  }
  // A checkpoint of an empty chain vouches for nothing.
  if (checkpoint.seq === 0n) return null;
  const taken = `the ${source} checkpoint of ${checkpoint.at.toISOString()}`;
  if (firstHash !== null && !sameHash(firstHash, checkpoint.firstHash)) {
    return {
      brokenSeq: 1n,
      reason: 'chain restarted',
      detail: `seq 1 is not the entry ${taken} started from`,
    };
  }
  if (checkpoint.seq > chainEnd.seq) {
    return {
      brokenSeq: afterEnd,
      reason: 'missing tail',
      detail: `${taken} says seq ${checkpoint.seq}; the chain ends at seq ${chainEnd.seq}`,
    };
  }
  const current = hashAt(checkpoint.seq);
  if (current === undefined || !sameHash(current, checkpoint.hash)) {
    return {
      brokenSeq: checkpoint.seq,
      reason: 'chain restarted',
      detail: `seq ${checkpoint.seq} is not the entry ${taken} recorded: the chain was cut and written again at or before it`,
    };
  }
  return null;
}

function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
