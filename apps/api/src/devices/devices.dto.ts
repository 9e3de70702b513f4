import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { DEVICE_OS_FAMILIES, DEVICE_SORT_KEYS } from '@switchboard/data-access';
import { CUSTOM_ID_PATTERN, DEVICE_ID_PATTERN } from '@switchboard/domain';

// Request shapes of the device administration API. Limits follow the columns in schema.prisma.

/**
 * A RustDesk id in a URL. Default ids are digits and the shared id pattern is `[A-Za-z0-9]{1,32}`, but
 * custom ids (change-id) may also hold `-` and `_`: the event schema's pattern, so every stored id
 * can be looked up.
 */
export const deviceIdSchema = z
  .string()
  .regex(DEVICE_ID_PATTERN, 'must be a RustDesk id (1-32 of A-Z a-z 0-9 _ -)');

/** The rename target RustDesk itself accepts (docs/protocol.md §5.9). */
export const newDeviceIdSchema = z
  .string()
  .regex(CUSTOM_ID_PATTERN, 'must start with a letter and be 6-16 of A-Z a-z 0-9 _ -');

const queryFlag = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((value) => value === 'true');

export const MAX_PAGE_SIZE = 200;
export const MAX_TAGS = 32;
const TAG = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  // Tags are shown in the console and matched exactly: printable text without control characters.
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'must not contain control characters');

export class DeviceIdParams extends createZodDto(z.object({ id: deviceIdSchema })) {}

export class DeviceLinkParams extends createZodDto(
  z.object({ id: deviceIdSchema, otherId: deviceIdSchema }),
) {}

/** Longest cursor we hand out: a 255-character hostname and a 32-character id, JSON, base64url. */
const MAX_CURSOR_LENGTH = 512;

export const listDevicesQuerySchema = z.object({
  /** Opaque: `nextCursor` of the previous page, valid only with the same `sort` and `order`. */
  cursor: z.string().max(MAX_CURSOR_LENGTH).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
  /** Order by this key, ties broken by the RustDesk id; devices without the key come last either way. */
  sort: z.enum(DEVICE_SORT_KEYS).default('rustdeskId'),
  order: z.enum(['asc', 'desc']).default('asc'),
  /** Also count every matching device (`total`); off by default, since it walks every match. */
  withTotal: queryFlag.optional(),
  online: queryFlag.optional(),
  banned: queryFlag.optional(),
  pending: queryFlag.optional(),
  admission: z.enum(['admitted', 'pending', 'rejected']).optional(),
  /** OS family (derived from the reported os string); `unknown`: reported none. */
  os: z.enum([...DEVICE_OS_FAMILIES, 'unknown']).optional(),
  deleted: queryFlag.optional(),
  tag: TAG.optional(),
  group: z.string().min(1).max(128).optional(),
  /** Substring of the id, hostname, OS username, note or owner's username; case-insensitive. */
  q: z.string().max(64, 'must be at most 64 characters').optional(),
});
export class ListDevicesQuery extends createZodDto(listDevicesQuerySchema) {}

export class UpdateDeviceBody extends createZodDto(
  z
    .strictObject({
      note: z.string().max(4_000, 'must be at most 4000 characters').nullable().optional(),
      /** Trimmed and deduplicated (first spelling wins); at most 32. */
      tags: z
        .array(TAG)
        .max(MAX_TAGS, `must hold at most ${MAX_TAGS} tags`)
        .transform((tags) => [...new Set(tags)])
        .optional(),
      /** A device group's id or name (create groups with POST /api/v1/device-groups); null ungroups. */
      group: z.string().min(1).max(128).nullable().optional(),
      /** A user's id or username; null clears. */
      owner: z.string().min(1).max(64).nullable().optional(),
    })
    .refine((body) => Object.values(body).some((value) => value !== undefined), 'nothing to change'),
) {}

export class BanDeviceBody extends createZodDto(
  z.strictObject({
    reason: z.string().trim().min(1, 'is required').max(512, 'must be at most 512 characters'),
  }),
) {}

export class RevokeDeviceBody extends createZodDto(
  z.strictObject({
    /** Also revoke every device linked to this one, transitively. Default false. */
    cascade: z.boolean().default(false),
    reason: z.string().trim().min(1).max(512, 'must be at most 512 characters').optional(),
  }),
) {}

export const BULK_DEVICE_ACTIONS = ['approve', 'ban', 'unban', 'delete'] as const;
export type BulkDeviceAction = (typeof BULK_DEVICE_ACTIONS)[number];
/** Most devices one bulk request may name: each is its own transaction and audit entry. */
export const MAX_BULK_DEVICES = 500;

export class BulkDeviceActionBody extends createZodDto(
  z
    .strictObject({
      action: z.enum(BULK_DEVICE_ACTIONS),
      /** RustDesk ids; repeats are acted on once. */
      ids: z
        .array(deviceIdSchema)
        .min(1, 'must name at least one device')
        .max(MAX_BULK_DEVICES, `must name at most ${MAX_BULK_DEVICES} devices`)
        .transform((ids) => [...new Set(ids)]),
      /** The ban reason: required for `ban`, refused for the others. */
      reason: z.string().trim().min(1, 'is required').max(512, 'must be at most 512 characters').optional(),
      /** Answer what would happen, changing nothing. Default false. */
      dryRun: z.boolean().default(false),
    })
    .refine((body) => body.action !== 'ban' || body.reason !== undefined, {
      message: 'is required to ban',
      path: ['reason'],
    })
    .refine((body) => body.action === 'ban' || body.reason === undefined, {
      message: 'is only for ban',
      path: ['reason'],
    }),
) {}

/** `?hard=true` used to purge; purging is now its own admin-only route, so it is a 400 naming that route. */
export class DeleteDeviceQuery extends createZodDto(
  z.object({
    hard: queryFlag
      .optional()
      .refine((hard) => hard !== true, 'purging is POST /api/v1/devices/{id}/purge (device.purge)'),
  }),
) {}

export class ChangeDeviceIdBody extends createZodDto(z.strictObject({ newId: newDeviceIdSchema })) {}

const deviceGroupName = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(128, 'must be at most 128 characters')
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'must not contain control characters');

export class CreateDeviceGroupBody extends createZodDto(
  z.strictObject({
    name: deviceGroupName,
    note: z.string().max(4_000).nullable().optional(),
  }),
) {}

export class UpdateDeviceGroupBody extends createZodDto(
  z
    .strictObject({
      name: deviceGroupName.optional(),
      note: z.string().max(4_000).nullable().optional(),
    })
    .refine(
      (body) => body.name !== undefined || body.note !== undefined,
      'nothing to change: give name or note',
    ),
) {}

/** Most devices one request may move; the audit entry lists each. */
export const MAX_DEVICES_PER_GROUP_CHANGE = 1_000;

export class AddDevicesToGroupBody extends createZodDto(
  z.strictObject({
    /** RustDesk ids; devices in another group move to this one. */
    devices: z
      .array(deviceIdSchema)
      .min(1, 'must name at least one device')
      .max(MAX_DEVICES_PER_GROUP_CHANGE, `must name at most ${MAX_DEVICES_PER_GROUP_CHANGE} devices`)
      .transform((ids) => [...new Set(ids)]),
  }),
) {}

export class DeviceGroupDeviceParams extends createZodDto(
  z.object({ id: z.uuid('must be a uuid'), deviceId: deviceIdSchema }),
) {}

export class DeviceGroupIdParams extends createZodDto(z.object({ id: z.uuid('must be a uuid') })) {}
