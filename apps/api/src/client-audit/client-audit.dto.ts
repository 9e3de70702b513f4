import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

// The bodies the controlled side posts (src/server/connection.rs post_conn_audit, post_file_audit,
// post_alarm_audit) and the controlling side's note (src/ui_session_interface.rs send_note). Plain
// z.object: unknown fields are dropped, never refused, so a newer client's extra field cannot cost
// its records (docs/client-api.md §1.3).

const U64_MAX = (1n << 64n) - 1n;
const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

/**
 * A u64 as exact decimal text. Small integers arrive as numbers, larger ones as the exact decimal
 * string the client-path body parser makes of them (apps/api/src/client-api/client-json-body.ts).
 */
export const u64Schema = z
  .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/)], {
    error: 'must be an integer from 0 to 2^64-1',
  })
  .transform((value) => BigInt(value))
  .refine((value) => value <= U64_MAX, 'must be an integer from 0 to 2^64-1')
  .transform((value) => value.toString());

const i32 = z.number().int().min(I32_MIN).max(I32_MAX);
/** Peer ids from the client: at most 253 characters (src/common.rs). */
const peerId = z.string().max(255);
const deviceId = z.string().min(1).max(255);
/** UUIDv4 text in the stock client; anything else is kept as given. */
const nonce = z.string().min(1).max(64);

/**
 * `/api/audit/conn`: the controlled side's open (`action:"new"`), authorised (`peer`, `type`) and
 * `close` records, and the controlling side's `{id, session_id, note}`. One schema, told apart by the
 * service: a note carries no uuid.
 */
export const connAuditSchema = z.object({
  id: deviceId,
  uuid: z.string().max(512).optional(),
  conn_id: i32.optional(),
  session_id: u64Schema,
  nonce: nonce.optional(),
  action: z.string().max(32).optional(),
  ip: z.string().max(64).optional(),
  conn_audit_ref: z.string().optional(),
  peer: z.array(z.string().max(255)).min(1).optional(),
  type: i32.optional(),
  primary_auth: i32.optional(),
  two_factor: i32.optional(),
  /** The end-of-session dialog allows 256 characters; some room for other clients. */
  note: z.string().max(4096).optional(),
});
export type ConnAuditBody = z.output<typeof connAuditSchema>;
export class ConnAuditDto extends createZodDto(connAuditSchema) {}

/** `/api/audit/file`: `type` 0 = controlled → controlling, 1 = controlling → controlled. */
export const fileAuditSchema = z.object({
  id: deviceId,
  uuid: z.string().max(512),
  peer_id: peerId.optional(),
  conn_id: i32.optional(),
  type: i32,
  path: z.string().max(8192),
  is_file: z.boolean(),
  /** A JSON text: {ip, name, num, files: [[name, size], ...]}. */
  info: z
    .string()
    .max(64 * 1024)
    .optional(),
  nonce: nonce.optional(),
});
export type FileAuditBody = z.output<typeof fileAuditSchema>;
export class FileAuditDto extends createZodDto(fileAuditSchema) {}

/** `/api/audit/alarm`: `typ` is the client's AlarmAuditType; `info` a JSON text. */
export const alarmAuditSchema = z.object({
  id: deviceId,
  uuid: z.string().max(512),
  typ: i32,
  info: z
    .string()
    .max(64 * 1024)
    .optional(),
  conn_id: i32.optional(),
  nonce: nonce.optional(),
  conn_audit_ref: z.string().optional(),
});
export type AlarmAuditBody = z.output<typeof alarmAuditSchema>;
export class AlarmAuditDto extends createZodDto(alarmAuditSchema) {}

/** GET /api/audit/conn/active (flutter/lib/models/model.dart `_queryAuditGuid`). */
export class ActiveConnectionQuery extends createZodDto(
  z.object({
    id: deviceId,
    session_id: u64Schema,
    conn_type: z.coerce.number().int().min(0).max(255),
  }),
) {}

/** PUT /api/audit (flutter/lib/common/widgets/dialog.dart). */
export class ConnectionNoteDto extends createZodDto(
  z.object({
    guid: z.uuid('must be an audit guid'),
    note: z.string().max(4096),
  }),
) {}
