import { randomBytes } from 'node:crypto';

/**
 * The HMAC keys of the audit chain. New entries are signed with `currentKeyId`; the other keys only
 * verify entries written before a rotation, so rotating never breaks the existing chain.
 */
export interface AuditKeyring {
  readonly currentKeyId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

export const AUDIT_KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
export const MIN_AUDIT_KEY_BYTES = 32;

/** Lists every problem; never includes key material, since the text usually comes from a secret. */
export class AuditKeyringError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid audit keyring: ${problems.join('; ')}`);
    this.name = 'AuditKeyringError';
  }
}

/** Builds a keyring from keys in age order: the last one becomes the signing key. */
export function createAuditKeyring(keys: readonly { keyId: string; key: Buffer }[]): AuditKeyring {
  const problems: string[] = [];
  const map = new Map<string, Buffer>();
  keys.forEach(({ keyId, key }, index) => {
    const label = AUDIT_KEY_ID_PATTERN.test(keyId) ? `key "${keyId}"` : `key #${index + 1}`;
    if (!AUDIT_KEY_ID_PATTERN.test(keyId)) problems.push(`${label}: id must match [A-Za-z0-9._-]{1,32}`);
    if (key.length < MIN_AUDIT_KEY_BYTES)
      problems.push(`${label}: must be at least ${MIN_AUDIT_KEY_BYTES} bytes`);
    if (map.has(keyId)) problems.push(`${label}: listed twice`);
    map.set(keyId, Buffer.from(key));
  });
  const current = keys.at(-1);
  if (current === undefined) problems.push('no keys given');
  if (problems.length > 0 || current === undefined) throw new AuditKeyringError(problems);
  return Object.freeze({ currentKeyId: current.keyId, keys: map });
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parses `keyId:base64key[,keyId:base64key...]` (standard base64, padding optional). The LAST pair is
 * the current signing key; keep retired keys listed before it for as long as their entries must verify.
 */
export function parseAuditKeyring(text: string): AuditKeyring {
  const problems: string[] = [];
  const keys: { keyId: string; key: Buffer }[] = [];
  const items = text.split(',').map((item) => item.trim());
  items.forEach((item, index) => {
    const colon = item.indexOf(':');
    if (colon < 0) {
      problems.push(`entry #${index + 1}: expected keyId:base64key`);
      return;
    }
    const keyId = item.slice(0, colon);
    const encoded = item.slice(colon + 1);
    // Re-encoding must give the same text back, which rejects stray characters and truncated input.
    const key = Buffer.from(encoded, 'base64');
    if (!BASE64.test(encoded) || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
      problems.push(`entry #${index + 1}: key is not valid base64`);
      return;
    }
    keys.push({ keyId, key });
  });
  if (problems.length > 0) throw new AuditKeyringError(problems);
  return createAuditKeyring(keys);
}

/** The text form parseAuditKeyring reads, current key last. */
export function formatAuditKeyring(keyring: AuditKeyring): string {
  const currentKey = keyring.keys.get(keyring.currentKeyId);
  if (currentKey === undefined)
    throw new AuditKeyringError([`current key "${keyring.currentKeyId}" is missing`]);
  const older = [...keyring.keys].filter(([keyId]) => keyId !== keyring.currentKeyId);
  return [...older, [keyring.currentKeyId, currentKey] as const]
    .map(([keyId, key]) => `${keyId}:${key.toString('base64')}`)
    .join(',');
}

/** A fresh 256-bit signing key. */
export function generateAuditKey(): Buffer {
  return randomBytes(MIN_AUDIT_KEY_BYTES);
}
