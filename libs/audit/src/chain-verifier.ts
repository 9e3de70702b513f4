import { timingSafeEqual } from 'node:crypto';

import { type AuditChainHead, type AuditEntry, GENESIS_HEAD } from './audit-entry';
import { computeAuditHash } from './audit-chain';
import { type AuditKeyring } from './audit-keyring';
import { type AuditEndBreakReason } from './chain-end';

/**
 * Why the chain broke at an entry:
 * - `seq gap`: the expected seq is missing (a row was deleted, or its seq changed);
 * - `unknown key id`: signed with a key the keyring does not hold (retired too early, or forged);
 * - `prev_hash mismatch`: the entry does not link to its predecessor (rows reordered or spliced);
 * - `hash mismatch`: the entry's content is not what was signed (a field was edited);
 * - the reasons of chain-end.ts, found after the walk by comparing its end with the head record and
 *   the checkpoints.
 */
export type AuditBreakReason =
  'seq gap' | 'unknown key id' | 'prev_hash mismatch' | 'hash mismatch' | AuditEndBreakReason;

export type AuditVerifyResult =
  | { readonly ok: true; readonly count: number; readonly headSeq: bigint }
  | {
      readonly ok: false;
      readonly brokenSeq: bigint;
      readonly reason: AuditBreakReason;
      readonly detail: string;
      /** Entries verified intact before the break. */
      readonly checked: number;
    };

export interface ChainBreak {
  readonly brokenSeq: bigint;
  readonly reason: AuditBreakReason;
  readonly detail: string;
}

/**
 * Verifies a chain fed to it in seq order, a page at a time, holding only the last link in memory.
 * It stops at the first break, which is the only one that can be named reliably: everything after
 * an edit inherits it.
 *
 * A chain can only prove what it contains: deleting the newest entries leaves a shorter, valid chain.
 * checkChainEnd (chain-end.ts) compares its end with the head record and the checkpoints to catch that.
 */
export class AuditChainVerifier {
  private head: AuditChainHead;
  private count = 0;
  private broken: ChainBreak | null = null;
  private first: Buffer | null = null;

  constructor(
    private readonly keyring: AuditKeyring,
    start: AuditChainHead = GENESIS_HEAD,
  ) {
    this.head = start;
  }

  /** Checks the next entries; returns false once the chain is broken, so the caller can stop reading. */
  push(entries: Iterable<AuditEntry>): boolean {
    for (const entry of entries) {
      if (this.broken !== null) return false;
      this.broken = this.check(entry);
      if (this.broken === null) {
        if (entry.seq === 1n) this.first = entry.hash;
        this.head = entry;
        this.count++;
      }
    }
    return this.broken === null;
  }

  result(): AuditVerifyResult {
    if (this.broken === null) return { ok: true, count: this.count, headSeq: this.head.seq };
    return { ok: false, ...this.broken, checked: this.count };
  }

  /** The last entry that verified (GENESIS_HEAD's seq 0 when none did). */
  get lastGood(): AuditChainHead {
    return this.head;
  }

  /** The hash of seq 1 once it verified: what tells a restarted chain from the one checkpointed. */
  get firstHash(): Buffer | null {
    return this.first;
  }

  // The order of the checks decides which reason is named when several apply: the link is checked before
  // the content, so swapped rows read as reordered although their re-numbered content fails too.
  private check(entry: AuditEntry): ChainBreak | null {
    const expected = this.head.seq + 1n;
    if (entry.seq !== expected) {
      return {
        brokenSeq: expected,
        reason: 'seq gap',
        detail: `expected seq ${expected}, found ${entry.seq}`,
      };
    }
    const key = this.keyring.keys.get(entry.keyId);
    if (key === undefined) {
      return {
        brokenSeq: entry.seq,
        reason: 'unknown key id',
        detail: `key id "${entry.keyId}" is not in the keyring`,
      };
    }
    if (!sameHash(entry.prevHash, this.head.hash)) {
      return {
        brokenSeq: entry.seq,
        reason: 'prev_hash mismatch',
        detail: `prev_hash does not match the hash of seq ${this.head.seq}`,
      };
    }
    let actual: Buffer;
    try {
      actual = computeAuditHash(key, entry.prevHash, entry);
    } catch (error) {
      // Only a tampered row can hold a value the canonical form refuses (e.g. an out-of-range date).
      const detail = `content cannot be serialised: ${error instanceof Error ? error.message : String(error)}`;
      return { brokenSeq: entry.seq, reason: 'hash mismatch', detail };
    }
    if (!sameHash(entry.hash, actual)) {
      return { brokenSeq: entry.seq, reason: 'hash mismatch', detail: 'content does not match its hash' };
    }
    return null;
  }
}

/** Verifies a whole chain held in memory; use AuditChainVerifier directly to stream pages. */
export function verifyAuditChain(entries: Iterable<AuditEntry>, keyring: AuditKeyring): AuditVerifyResult {
  const verifier = new AuditChainVerifier(keyring);
  verifier.push(entries);
  return verifier.result();
}

function sameHash(a: Buffer, b: Buffer): boolean {
  // Lengths are public (always 32 for an intact row); timingSafeEqual needs them equal.
  return a.length === b.length && timingSafeEqual(a, b);
}
