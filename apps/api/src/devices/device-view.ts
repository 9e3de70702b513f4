import {
  DEVICE_OS_FAMILIES,
  type DeviceDetails,
  type DeviceGroupRecord,
  type DeviceSummary,
} from '@switchboard/data-access';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

// The JSON the operator API answers with for devices: dates as ISO strings, bytes as base64.

// Each answer is a zod schema too: its DTO class names the response in the OpenAPI document (the
// console's typed client is generated from it), and the type the views below must produce.

const isoDate = z.iso.datetime({ offset: true });

export const deviceViewSchema = z.object({
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
});
export type DeviceView = z.infer<typeof deviceViewSchema>;

const deviceLinkSchema = z.object({ id: z.string(), linkedAt: isoDate });

export const deviceDetailsViewSchema = deviceViewSchema.extend({
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
});
export type DeviceDetailsView = z.infer<typeof deviceDetailsViewSchema>;

export class DeviceDetailsResponse extends createZodDto(deviceDetailsViewSchema) {}

export const devicePageSchema = z.object({
  items: z.array(deviceViewSchema),
  /** The number of matching devices, only with `withTotal=true` (a count walks every match); else null. */
  total: z.number().int().nullable(),
  /** Pass as `cursor` (with the same sort and order) for the next page; null on the last one. */
  nextCursor: z.string().nullable(),
});
export type DevicePageView = z.infer<typeof devicePageSchema>;
export class DevicePageResponse extends createZodDto(devicePageSchema) {}

export const deviceLinksSchema = z.object({ id: z.string(), links: z.array(deviceLinkSchema) });
export type DeviceLinksView = z.infer<typeof deviceLinksSchema>;
export class DeviceLinksResponse extends createZodDto(deviceLinksSchema) {}

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

export interface DeviceGroupView {
  id: string;
  name: string;
  note: string | null;
  createdAt: string;
  devices: number;
}

export function deviceGroupView(group: DeviceGroupRecord): DeviceGroupView {
  return { ...group, createdAt: group.createdAt.toISOString() };
}

export const BULK_OUTCOMES = ['ok', 'not_found', 'not_allowed', 'already'] as const;
export type BulkOutcome = (typeof BULK_OUTCOMES)[number];

export const bulkResultSchema = z.object({
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
});
export type BulkResultView = z.infer<typeof bulkResultSchema>;
export class BulkResultResponse extends createZodDto(bulkResultSchema) {}

export const revokePreviewSchema = z.object({
  id: z.string(),
  /** With `cascade: true`: the linked devices, transitively, that the revoke would also take down. */
  cascade: z.array(z.string()),
  /** Already revoked: POST .../revoke answers 409. */
  alreadyRevoked: z.boolean(),
  /** More linked devices than one revoke may take down (`cascade` then lists the first of them): a cascading revoke answers 409. */
  tooMany: z.boolean(),
  maxCascade: z.number().int(),
});
export type RevokePreviewView = z.infer<typeof revokePreviewSchema>;
export class RevokePreviewResponse extends createZodDto(revokePreviewSchema) {}
