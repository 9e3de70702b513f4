import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { anyJson, isoTimestamp, responseSchema } from '../http/response-schemas';

// The audit log's query parameters. Column widths follow audit_entries (AUDIT_FIELD_LIMITS), so a
// value that could never match is a 400 rather than an empty page.

const filterShape = {
  /** Inclusive lower bound on the entry's time (ISO 8601 with offset). */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Exclusive upper bound. */
  to: z.iso.datetime({ offset: true }).optional(),
  /** The actor id: a user id, an API key prefix, `signal`, `relay:<node>`, ... */
  actor: z.string().min(1).max(128).optional(),
  action: z.string().min(1).max(64).optional(),
  targetType: z.string().min(1).max(32).optional(),
  targetId: z.string().min(1).max(128).optional(),
};

function checkRange(value: { from?: string; to?: string }, ctx: z.RefinementCtx): void {
  if (value.from !== undefined && value.to !== undefined && Date.parse(value.from) >= Date.parse(value.to)) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
  }
}

export const auditFilterSchema = z.strictObject(filterShape).superRefine(checkRange);

export const auditListQuerySchema = z
  .strictObject({
    ...filterShape,
    /** `nextCursor` of the previous page. */
    cursor: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .superRefine(checkRange);

export class AuditFilterDto extends createZodDto(auditFilterSchema) {}
export class AuditListQueryDto extends createZodDto(auditListQuerySchema) {}

export type AuditFilter = z.output<typeof auditFilterSchema>;
export type AuditListQuery = z.output<typeof auditListQuerySchema>;

/** A sequence number in decimal: it is a bigint, which JSON numbers cannot all carry. */
const seq = z.string().regex(/^\d+$/);
const hex = z.string().regex(/^[0-9a-f]*$/);

/** An entry as the API returns it: seq as a string (it is a bigint), hashes in hex. */
export const auditEntryViewSchema = responseSchema(
  'AuditEntry',
  z.object({
    seq,
    at: isoTimestamp,
    actorType: z.string(),
    actorId: z.string().nullable(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    ip: z.string().nullable(),
    details: anyJson,
    keyId: z.string(),
    prevHash: hex,
    hash: hex,
    redacted: z
      .literal(true)
      .optional()
      .describe("Details were cut to what the reader's role may read (values show as `[redacted]`)."),
  }),
);
export type AuditEntryView = z.output<typeof auditEntryViewSchema>;

export const auditPageViewSchema = responseSchema(
  'AuditPage',
  z.object({
    entries: z.array(auditEntryViewSchema),
    nextCursor: z.string().nullable().describe('`cursor` for the next (older) page; null on the last.'),
  }),
);
export type AuditPageView = z.output<typeof auditPageViewSchema>;

const checkpoints = z
  .array(z.string())
  .describe(
    'The copies of the head kept outside Postgres that the chain was compared with (`redis`, `file`).',
  );

/** A verification: the chain holds, or where it breaks (`lastGoodSeq`: the last entry still trusted). */
export const auditVerifyViewSchema = responseSchema(
  'AuditVerification',
  z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), checked: z.number().int(), headSeq: seq, checkpoints }),
    z.object({
      ok: z.literal(false),
      checked: z.number().int(),
      lastGoodSeq: seq,
      firstBroken: z.object({ seq, reason: z.string(), detail: z.string() }),
      checkpoints,
    }),
  ]),
);
export type AuditVerifyView = z.output<typeof auditVerifyViewSchema>;
