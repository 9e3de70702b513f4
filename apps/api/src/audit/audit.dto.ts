import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

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

/** An entry as the API returns it: seq as a string (it is a bigint), hashes in hex. */
export interface AuditEntryView {
  seq: string;
  at: string;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  details: unknown;
  keyId: string;
  prevHash: string;
  hash: string;
  /** Present when details were cut to what the reader's role may read (values show as `[redacted]`). */
  redacted?: true;
}

export interface AuditPageView {
  entries: AuditEntryView[];
  nextCursor: string | null;
}

/**
 * `checkpoints` names the copies of the head kept outside Postgres that the chain was compared with
 * (`redis`, `file`). On a break, `lastGoodSeq` is the last entry that can still be trusted.
 */
export type AuditVerifyView =
  | { ok: true; checked: number; headSeq: string; checkpoints: string[] }
  | {
      ok: false;
      checked: number;
      lastGoodSeq: string;
      firstBroken: { seq: string; reason: string; detail: string };
      checkpoints: string[];
    };
