import { type AuditEntry, isPlainObject } from './audit-entry';

/**
 * The bytes an audit entry's hash covers. THIS FORMAT IS FROZEN: every stored hash depends on it, so a
 * change means a new version tag (and a verifier that knows both), never an edit of this one.
 *
 * Version 1 is the UTF-8 encoding of a JSON array without whitespace:
 *
 *   ["switchboard.audit.v1",seq,keyId,at,actorType,actorId,action,targetType,targetId,ip,details]
 *
 * - seq: a decimal string (no sign, no leading zeros), exact beyond 2^53.
 * - at: `YYYY-MM-DDTHH:mm:ss.sssZ`, UTC with milliseconds, the precision of the timestamptz(3) column.
 * - actorId, targetType, targetId, ip: a string or null. The columns are nullable, so an absent field and
 *   null are one value, written null; the empty string is a different value.
 * - details: canonical JSON. Object keys sorted by UTF-16 code units (as RFC 8785), arrays kept in order,
 *   strings escaped and numbers written exactly as JSON.stringify does (shortest round-trip form, -0 as 0).
 *   A key whose value is null is kept, so `{"a":null}` and `{}` differ. Values JSON cannot carry
 *   (undefined, NaN, Infinity, bigint, Date, class instances) are refused rather than coerced.
 * - Every string, including the top-level fields, is escaped as JSON.stringify does.
 *
 * The previous hash is not part of it: it is the fixed-length (32-byte) prefix of the HMAC input.
 */
export const CANONICAL_FORM_VERSION = 'switchboard.audit.v1';

export type CanonicalFields = Omit<AuditEntry, 'prevHash' | 'hash'>;

export function canonicalAuditEntry(entry: CanonicalFields): Buffer {
  const parts = [
    JSON.stringify(CANONICAL_FORM_VERSION),
    JSON.stringify(entry.seq.toString()),
    JSON.stringify(entry.keyId),
    JSON.stringify(entry.at.toISOString()),
    JSON.stringify(entry.actorType),
    nullableString(entry.actorId),
    JSON.stringify(entry.action),
    nullableString(entry.targetType),
    nullableString(entry.targetId),
    nullableString(entry.ip),
    canonicalJson(entry.details),
  ];
  return Buffer.from(`[${parts.join(',')}]`, 'utf8');
}

function nullableString(value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value);
}

/** Deterministic JSON text for a JSON value: sorted object keys at every depth, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot hold ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${Array.from(value, (item) => canonicalJson(item)).join(',')}]`;
  if (isPlainObject(value)) {
    // Default sort compares UTF-16 code units, the order RFC 8785 prescribes.
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  throw new TypeError(
    `canonical JSON cannot hold a ${value === undefined ? 'undefined' : typeof value} value`,
  );
}
