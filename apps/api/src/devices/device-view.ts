import {
  DEVICE_OS_FAMILIES,
  type DeviceDetails,
  type DeviceGroupRecord,
  type DeviceSummary,
} from '@switchboard/data-access';
import { z } from 'zod';

import { isoTimestamp, responseSchema } from '../http/response-schemas';

// The JSON the operator API answers with for devices: dates as ISO strings, bytes as base64. Each
// answer is a registered response schema (http/response-schemas.ts): a component of the OpenAPI
// document, and the type the views below must produce.

const isoDate = isoTimestamp;

export const deviceViewSchema = responseSchema(
  'Device',
  z.object({
    id: z.string(),
    hostname: z.string().nullable(),
    os: z.string().nullable(),
    /** windows | macos | linux | android | ios | other, derived from `os`; null when it reported none. */
    osFamily: z.enum(DEVICE_OS_FAMILIES).nullable(),
    version: z.string().nullable(),
    lastIp: z.string().nullable(),
    lastSeenAt: isoDate.nullable(),
    /** Seen within DEVICE_ONLINE_WINDOW_SECONDS (see config.ts for why not signal's 30 s). */
    online: z.boolean(),
    tags: z.array(z.string()),
    note: z.string().nullable(),
    group: z.object({ id: z.string(), name: z.string() }).nullable(),
    owner: z.object({ id: z.string(), username: z.string() }).nullable(),
    admission: z.enum(['admitted', 'pending', 'rejected']),
    banned: z.boolean(),
    banReason: z.string().nullable(),
    deleted: z.boolean(),
    deletedAt: isoDate.nullable(),
    revoked: z.boolean(),
    revokedAt: isoDate.nullable(),
    createdAt: isoDate,
  }),
);
export type DeviceView = z.output<typeof deviceViewSchema>;

const deviceLinkSchema = z.object({ id: z.string(), linkedAt: isoDate });

export const deviceDetailsViewSchema = responseSchema(
  'DeviceDetails',
  deviceViewSchema.extend({
    /** base64 */
    uuid: z.string().nullable(),
    /** base64 of the 32-byte Ed25519 key */
    pk: z.string().nullable(),
    osUsername: z.string().nullable(),
    cpu: z.string().nullable(),
    memory: z.string().nullable(),
    admittedAt: isoDate.nullable(),
    admittedBy: z.string().nullable(),
    registrationToken: z.object({ id: z.string(), name: z.string(), prefix: z.string() }).nullable(),
    bannedAt: isoDate.nullable(),
    bannedBy: z.string().nullable(),
    updatedAt: isoDate,
    /** Devices linked directly (either direction); a cascading revoke follows them transitively. */
    links: z.array(deviceLinkSchema),
    /** The strategy its heartbeat gets, and whose assignment gives it (device > owner > device group). */
    strategy: z
      .object({ id: z.string(), name: z.string(), via: z.enum(['device', 'user', 'group']) })
      .nullable(),
  }),
);
export type DeviceDetailsView = z.output<typeof deviceDetailsViewSchema>;

export const devicePageSchema = responseSchema(
  'DevicePage',
  z.object({
    items: z.array(deviceViewSchema),
    /** The number of matching devices, only with `withTotal=true` (a count walks every match); else null. */
    total: z.number().int().nullable(),
    /** Pass as `cursor` (with the same sort and order) for the next page; null on the last one. */
    nextCursor: z.string().nullable(),
  }),
);
export type DevicePageView = z.output<typeof devicePageSchema>;

export const deviceLinksSchema = responseSchema(
  'DeviceLinks',
  z.object({ id: z.string(), links: z.array(deviceLinkSchema) }),
);
export type DeviceLinksView = z.output<typeof deviceLinksSchema>;

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());
const base64 = (bytes: Uint8Array | null): string | null =>
  bytes === null ? null : Buffer.from(bytes).toString('base64');

export function deviceView(device: DeviceSummary, onlineSince: Date): DeviceView {
  return {
    id: device.rustdeskId,
    hostname: device.hostname,
    os: device.os,
    osFamily: device.osFamily,
    version: device.version,
    lastIp: device.lastIp,
    lastSeenAt: iso(device.lastSeenAt),
    online: device.lastSeenAt !== null && device.lastSeenAt >= onlineSince,
    tags: [...device.tags],
    note: device.note,
    group: device.group && { ...device.group },
    owner: device.owner && { ...device.owner },
    admission: device.admission,
    banned: device.banned,
    banReason: device.banReason,
    deleted: device.deletedAt !== null,
    deletedAt: iso(device.deletedAt),
    revoked: device.revokedAt !== null,
    revokedAt: iso(device.revokedAt),
    createdAt: device.createdAt.toISOString(),
  };
}

export function deviceDetailsView(device: DeviceDetails, onlineSince: Date): DeviceDetailsView {
  return {
    ...deviceView(device, onlineSince),
    uuid: base64(device.uuid),
    pk: base64(device.pk),
    osUsername: device.osUsername,
    cpu: device.cpu,
    memory: device.memory,
    admittedAt: iso(device.admittedAt),
    admittedBy: device.admittedBy,
    registrationToken: device.registrationToken && { ...device.registrationToken },
    bannedAt: iso(device.bannedAt),
    bannedBy: device.bannedBy,
    updatedAt: device.updatedAt.toISOString(),
    links: device.links.map((link) => ({ id: link.rustdeskId, linkedAt: link.linkedAt.toISOString() })),
    strategy: device.strategy && { ...device.strategy },
  };
}

export const deviceGroupViewSchema = responseSchema(
  'DeviceGroup',
  z.object({
    id: z.string(),
    name: z.string(),
    note: z.string().nullable(),
    createdAt: isoDate,
    /** How many devices are in it. */
    devices: z.number().int(),
  }),
);
export type DeviceGroupView = z.output<typeof deviceGroupViewSchema>;

export const deviceGroupListSchema = responseSchema('DeviceGroupList', z.array(deviceGroupViewSchema));
export type DeviceGroupList = z.output<typeof deviceGroupListSchema>;

export function deviceGroupView(group: DeviceGroupRecord): DeviceGroupView {
  return { ...group, createdAt: group.createdAt.toISOString() };
}

export const BULK_OUTCOMES = ['ok', 'not_found', 'not_allowed', 'already'] as const;
export type BulkOutcome = (typeof BULK_OUTCOMES)[number];

export const bulkResultSchema = responseSchema(
  'BulkResult',
  z.object({
    action: z.enum(['approve', 'ban', 'unban', 'delete']),
    dryRun: z.boolean(),
    /** One per distinct id, in the order given. `ok`: done (or, in a dry run, would be done). */
    results: z.array(
      z.object({
        id: z.string(),
        outcome: z.enum(BULK_OUTCOMES),
        /** Why, when not ok: the message the single-device route answers with. */
        message: z.string().nullable(),
      }),
    ),
    /** How many of each outcome. */
    counts: z.object({
      ok: z.number().int(),
      not_found: z.number().int(),
      not_allowed: z.number().int(),
      already: z.number().int(),
    }),
  }),
);
export type BulkResultView = z.output<typeof bulkResultSchema>;

export const revokePreviewSchema = responseSchema(
  'RevokePreview',
  z.object({
    id: z.string(),
    /** With `cascade: true`: the linked devices, transitively, that the revoke would also take down. */
    cascade: z.array(z.string()),
    /** Already revoked: POST .../revoke answers 409. */
    alreadyRevoked: z.boolean(),
    /** More linked devices than one revoke may take down (`cascade` then lists the first of them): a cascading revoke answers 409. */
    tooMany: z.boolean(),
    maxCascade: z.number().int(),
  }),
);
export type RevokePreviewView = z.output<typeof revokePreviewSchema>;
