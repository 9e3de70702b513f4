import { createHmac, timingSafeEqual } from 'node:crypto';

import { type AuditChainHead } from './audit-entry';
import { type AuditKeyring, AuditKeyringError } from './audit-keyring';

/**
 * The head record: the chain's last seq and hash, MAC'd, kept in its own row and rewritten in the
 * transaction of every append. A chain alone cannot show that its newest entries were deleted; the head
 * can, as long as it is not rolled back too, which is what checkpoints outside Postgres are for.
 */
export interface SignedChainHead extends AuditChainHead {
  readonly keyId: string;
  readonly mac: Buffer;
}

/**
 * A copy of the head held outside Postgres (a file, Redis, the logs). `firstHash` is the hash of seq 1:
 * a chain that was emptied and started again has a different one, so a restart is told from a cut.
 */
export interface AuditCheckpoint extends SignedChainHead {
  readonly firstHash: Buffer;
  readonly at: Date;
}

// Frozen like the canonical form: the version tag keeps a head MAC from ever equalling an entry hash.
const HEAD_FORM_VERSION = 'switchboard.audit.head.v1';
const CHECKPOINT_FORM_VERSION = 'switchboard.audit.checkpoint.v1';

function headBytes(head: AuditChainHead): string {
  return JSON.stringify([HEAD_FORM_VERSION, head.seq.toString(), head.hash.toString('hex')]);
}

function checkpointBytes(checkpoint: Omit<AuditCheckpoint, 'keyId' | 'mac'>): string {
  return JSON.stringify([
    CHECKPOINT_FORM_VERSION,
    checkpoint.seq.toString(),
    checkpoint.hash.toString('hex'),
    checkpoint.firstHash.toString('hex'),
    checkpoint.at.toISOString(),
  ]);
}

function currentKey(keyring: AuditKeyring): Buffer {
  const key = keyring.keys.get(keyring.currentKeyId);
  if (key === undefined) throw new AuditKeyringError([`current key "${keyring.currentKeyId}" is missing`]);
  return key;
}

function macMatches(keyring: AuditKeyring, keyId: string, text: string, mac: Buffer): boolean {
  const key = keyring.keys.get(keyId);
  if (key === undefined) return false;
  const expected = createHmac('sha256', key).update(text).digest();
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}

export function signChainHead(head: AuditChainHead, keyring: AuditKeyring): SignedChainHead {
  const mac = createHmac('sha256', currentKey(keyring)).update(headBytes(head)).digest();
  return { seq: head.seq, hash: head.hash, keyId: keyring.currentKeyId, mac };
}

export function isAuthenticChainHead(head: SignedChainHead, keyring: AuditKeyring): boolean {
  return macMatches(keyring, head.keyId, headBytes(head), head.mac);
}

export function signCheckpoint(
  checkpoint: Omit<AuditCheckpoint, 'keyId' | 'mac'>,
  keyring: AuditKeyring,
): AuditCheckpoint {
  const mac = createHmac('sha256', currentKey(keyring)).update(checkpointBytes(checkpoint)).digest();
  return { ...checkpoint, keyId: keyring.currentKeyId, mac };
}

export function isAuthenticCheckpoint(checkpoint: AuditCheckpoint, keyring: AuditKeyring): boolean {
  return macMatches(keyring, checkpoint.keyId, checkpointBytes(checkpoint), checkpoint.mac);
}
