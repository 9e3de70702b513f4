/** Any value JSONB stores unchanged: what `details` may hold. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** What a caller records. Optional fields that are absent are stored (and hashed) as null. */
export interface NewAuditEntry {
  readonly at: Date;
  /** Who acted: `user`, `api_key`, `device`, `system`, ... */
  readonly actorType: string;
  readonly actorId?: string | null;
  /** Dotted verb, e.g. `device.ban`, `auth.login_failed`. */
  readonly action: string;
  readonly targetType?: string | null;
  readonly targetId?: string | null;
  readonly ip?: string | null;
  readonly details?: JsonObject;
}

/** One link of the chain, exactly as stored in `audit_entries`. */
export interface AuditEntry {
  readonly seq: bigint;
  readonly at: Date;
  readonly actorType: string;
  readonly actorId: string | null;
  readonly action: string;
  readonly targetType: string | null;
  readonly targetId: string | null;
  readonly ip: string | null;
  /** A JSON object when written; typed loosely because a tampered row may hold any JSON. */
  readonly details: JsonValue;
  readonly keyId: string;
  readonly prevHash: Buffer;
  readonly hash: Buffer;
}

/** The last link of a chain: what the next entry links to. */
export interface AuditChainHead {
  readonly seq: bigint;
  readonly hash: Buffer;
}

export const AUDIT_HASH_BYTES = 32;

/** The head of an empty chain: the first entry gets seq 1 and a prevHash of 32 zero bytes. */
export const GENESIS_HEAD: AuditChainHead = Object.freeze({
  seq: 0n,
  hash: Buffer.alloc(AUDIT_HASH_BYTES),
});

// Column widths of audit_entries (prisma/schema.prisma), in characters as VARCHAR counts them. Checked
// before an entry joins a group-commit batch, so one oversized entry cannot fail its neighbours' commit.
export const AUDIT_FIELD_LIMITS = {
  actorType: 16,
  actorId: 128,
  action: 64,
  targetType: 32,
  targetId: 128,
  ip: 45,
} as const;

export class InvalidAuditEntryError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid audit entry: ${problems.join('; ')}`);
    this.name = 'InvalidAuditEntryError';
  }
}

// Postgres text and JSONB refuse NUL and unpaired surrogates (JSON.stringify writes the latter as
// escapes that JSONB rejects).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isUnstorable(text: string): boolean {
  return text.includes('\u0000') || LONE_SURROGATE.test(text);
}

/** Throws InvalidAuditEntryError listing every problem that would stop the entry being stored or hashed. */
export function assertValidAuditEntry(entry: NewAuditEntry): void {
  const problems: string[] = [];
  if (!(entry.at instanceof Date) || Number.isNaN(entry.at.getTime())) {
    problems.push('at: must be a valid Date');
  } else if (entry.at.getUTCFullYear() < 1 || entry.at.getUTCFullYear() > 9999) {
    problems.push('at: year must be within 0001-9999');
  }
  const required = { actorType: entry.actorType, action: entry.action };
  for (const [field, value] of Object.entries(required)) {
    if (typeof value !== 'string' || value.length === 0)
      problems.push(`${field}: must be a non-empty string`);
  }
  const texts = {
    ...required,
    actorId: entry.actorId,
    targetType: entry.targetType,
    targetId: entry.targetId,
    ip: entry.ip,
  };
  for (const [field, value] of Object.entries(texts)) {
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      if (!(field in required)) problems.push(`${field}: must be a string or null`);
      continue;
    }
    const limit = AUDIT_FIELD_LIMITS[field as keyof typeof AUDIT_FIELD_LIMITS];
    if ([...value].length > limit) problems.push(`${field}: longer than ${limit} characters`);
    if (isUnstorable(value)) problems.push(`${field}: contains NUL or an unpaired surrogate`);
  }
  if (entry.details !== undefined) {
    if (!isPlainObject(entry.details)) problems.push('details: must be a plain JSON object');
    else collectJsonProblems(entry.details, 'details', problems);
  }
  if (problems.length > 0) throw new InvalidAuditEntryError(problems);
}

function collectJsonProblems(value: unknown, path: string, problems: string[]): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) problems.push(`${path}: numbers must be finite`);
    return;
  }
  if (typeof value === 'string') {
    if (isUnstorable(value)) problems.push(`${path}: contains NUL or an unpaired surrogate`);
    return;
  }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      collectJsonProblems(value[index], `${path}[${index}]`, problems);
    }
    return;
  }
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (isUnstorable(key)) problems.push(`${path}: key contains NUL or an unpaired surrogate`);
      collectJsonProblems(item, `${path}.${key}`, problems);
    }
    return;
  }
  problems.push(`${path}: ${value === undefined ? 'undefined' : typeof value} is not a JSON value`);
}

export function isPlainObject(value: unknown): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
