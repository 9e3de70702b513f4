import { type DeviceDetails, type DeviceGroupRecord, type DeviceSummary } from '@switchboard/data-access';

// The JSON the operator API answers with for devices: dates as ISO strings, bytes as base64.

export interface DeviceView {
  id: string;
  hostname: string | null;
  os: string | null;
  version: string | null;
  lastIp: string | null;
  lastSeenAt: string | null;
  /** Seen within DEVICE_ONLINE_WINDOW_SECONDS (see config.ts for why not signal's 30 s). */
  online: boolean;
  tags: string[];
  note: string | null;
  group: { id: string; name: string } | null;
  owner: { id: string; username: string } | null;
  admission: string;
  banned: boolean;
  banReason: string | null;
  deleted: boolean;
  deletedAt: string | null;
  revoked: boolean;
  revokedAt: string | null;
}

export interface DeviceDetailsView extends DeviceView {
  uuid: string | null;
  pk: string | null;
  osUsername: string | null;
  cpu: string | null;
  memory: string | null;
  admittedAt: string | null;
  admittedBy: string | null;
  registrationToken: { id: string; name: string; prefix: string } | null;
  bannedAt: string | null;
  bannedBy: string | null;
  createdAt: string;
  updatedAt: string;
  links: { id: string; linkedAt: string }[];
}

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());
const base64 = (bytes: Uint8Array | null): string | null =>
  bytes === null ? null : Buffer.from(bytes).toString('base64');

export function deviceView(device: DeviceSummary, onlineSince: Date): DeviceView {
  return {
    id: device.rustdeskId,
    hostname: device.hostname,
    os: device.os,
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
    createdAt: device.createdAt.toISOString(),
    updatedAt: device.updatedAt.toISOString(),
    links: device.links.map((link) => ({ id: link.rustdeskId, linkedAt: link.linkedAt.toISOString() })),
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
