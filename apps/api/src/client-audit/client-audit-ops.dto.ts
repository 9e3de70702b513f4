import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { deviceIdSchema } from '../devices/devices.dto';

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
