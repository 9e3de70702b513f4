import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { deviceIdSchema } from '../devices/devices.dto';
import { anyJson, isoTimestamp, responseSchema } from '../http/response-schemas';

// Query shapes of the operator listings of client-reported audit (/api/v1/client-audit/*).

export const CLIENT_AUDIT_MAX_PAGE_SIZE = 200;

const filterFields = {
  /** The controlled device's RustDesk id. */
  device: deviceIdSchema.optional(),
  /** The controlling user's id (known only when signal signed a conn_audit_ref). */
  user: z.uuid('must be a user id').optional(),
  from: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
  to: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
  /** conn_type (connections), direction (files) or alarm type (alarms). */
  type: z.coerce.number().int().min(0).max(255).optional(),
  limit: z.coerce.number().int().min(1).max(CLIENT_AUDIT_MAX_PAGE_SIZE).default(50),
};

/** Connections page by their guid. */
export class ConnectionAuditListQuery extends createZodDto(
  z.object({ ...filterFields, cursor: z.uuid('must be a cursor from nextCursor').optional() }),
) {}

/** File and alarm records page by their numeric id. */
export class ClientAuditListQuery extends createZodDto(
  z.object({
    ...filterFields,
    cursor: z
      .string()
      .regex(/^\d{1,19}$/, 'must be a cursor from nextCursor')
      .optional(),
  }),
) {}

export type ClientAuditQuery = z.output<typeof ClientAuditListQuery.schema>;

// The listings' answers: newest first, `nextCursor` for the next (older) page, null on the last.

const reportingUser = z
  .object({ id: z.uuid(), username: z.string().nullable() })
  .nullable()
  .describe('The user the controlling client was signed in as, if any (username null once deleted).');

/** A connection as the operator API shows it: session_id as exact decimal text (a u64). */
export const connectionAuditViewSchema = responseSchema(
  'ConnectionAudit',
  z.object({
    guid: z.string(),
    deviceId: z.string().describe('The controlled device (RustDesk id).'),
    connId: z.number().int(),
    sessionId: z.string().regex(/^\d+$/),
    ip: z.string().nullable(),
    peerId: z.string().nullable(),
    peerName: z.string().nullable(),
    connType: z.number().int().nullable(),
    primaryAuth: z.number().int().nullable(),
    twoFactor: z.number().int().nullable(),
    user: reportingUser,
    note: z.string().nullable(),
    openedAt: isoTimestamp.nullable(),
    authorizedAt: isoTimestamp.nullable(),
    closedAt: isoTimestamp.nullable(),
    createdAt: isoTimestamp,
  }),
);
export type ConnectionAuditView = z.output<typeof connectionAuditViewSchema>;

export const fileAuditViewSchema = responseSchema(
  'FileAudit',
  z.object({
    id: z.string(),
    deviceId: z.string(),
    peerId: z.string().nullable(),
    connId: z.number().int().nullable(),
    direction: z.number().int(),
    path: z.string(),
    isFile: z.boolean(),
    info: anyJson,
    user: reportingUser,
    createdAt: isoTimestamp,
  }),
);
export type FileAuditView = z.output<typeof fileAuditViewSchema>;

export const alarmAuditViewSchema = responseSchema(
  'AlarmAudit',
  z.object({
    id: z.string(),
    deviceId: z.string(),
    alarmType: z.number().int(),
    info: anyJson,
    connId: z.number().int().nullable(),
    user: reportingUser,
    auditSeq: z.string().nullable().describe('The operator audit entry it was also recorded as, if any.'),
    createdAt: isoTimestamp,
  }),
);
export type AlarmAuditView = z.output<typeof alarmAuditViewSchema>;

function cursorPage<Item extends z.ZodType>(item: Item) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const connectionAuditPageSchema = responseSchema(
  'ConnectionAuditPage',
  cursorPage(connectionAuditViewSchema),
);
export type ConnectionAuditPage = z.output<typeof connectionAuditPageSchema>;
export const fileAuditPageSchema = responseSchema('FileAuditPage', cursorPage(fileAuditViewSchema));
export type FileAuditPage = z.output<typeof fileAuditPageSchema>;
export const alarmAuditPageSchema = responseSchema('AlarmAuditPage', cursorPage(alarmAuditViewSchema));
export type AlarmAuditPage = z.output<typeof alarmAuditPageSchema>;
