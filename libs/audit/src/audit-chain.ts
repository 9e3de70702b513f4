import { createHmac } from 'node:crypto';

import {
  type AuditChainHead,
  type AuditEntry,
  type NewAuditEntry,
  assertValidAuditEntry,
} from './audit-entry';
import { type AuditKeyring, AuditKeyringError } from './audit-keyring';
import { type CanonicalFields, canonicalAuditEntry } from './canonical-form';

/** hash = HMAC-SHA256(key, prevHash ‖ canonical(entry)); seq and keyId are inside the canonical form. */
export function computeAuditHash(key: Buffer, prevHash: Buffer, entry: CanonicalFields): Buffer {
  return createHmac('sha256', key).update(prevHash).update(canonicalAuditEntry(entry)).digest();
}

/**
 * Links `entries` after `prev` (GENESIS_HEAD for an empty chain): assigns consecutive seqs, the previous
 * hash and the current key id, and signs each. Throws InvalidAuditEntryError before signing anything if
 * one entry could not be stored as given.
 */
export function chainEntries(
  prev: AuditChainHead,
  entries: readonly NewAuditEntry[],
  keyring: AuditKeyring,
): AuditEntry[] {
  const key = keyring.keys.get(keyring.currentKeyId);
  if (key === undefined) throw new AuditKeyringError([`current key "${keyring.currentKeyId}" is missing`]);
  entries.forEach(assertValidAuditEntry);
  let head = prev;
  return entries.map((entry) => {
    const fields: CanonicalFields = {
      seq: head.seq + 1n,
      at: new Date(entry.at.getTime()),
      actorType: entry.actorType,
      actorId: entry.actorId ?? null,
      action: entry.action,
      targetType: entry.targetType ?? null,
      targetId: entry.targetId ?? null,
      ip: entry.ip ?? null,
      details: entry.details ?? {},
      keyId: keyring.currentKeyId,
    };
    const chained: AuditEntry = {
      ...fields,
      prevHash: head.hash,
      hash: computeAuditHash(key, head.hash, fields),
    };
    head = chained;
    return chained;
  });
}
