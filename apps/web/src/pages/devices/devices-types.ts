// TODO(schemas): the generated `components['schemas']` answer types of the device routes replace these
// (apps/api/src/devices/device-view.ts, apps/api/src/client-audit/client-audit-ops.service.ts).

export const OS_FAMILIES = ['windows', 'macos', 'linux', 'android', 'ios', 'other'] as const;
export type OsFamily = (typeof OS_FAMILIES)[number];
export type Admission = 'admitted' | 'pending' | 'rejected';

export interface Device {
  readonly id: string;
  readonly hostname: string | null;
  readonly os: string | null;
  readonly osFamily?: OsFamily | null;
  readonly version: string | null;
  readonly lastIp: string | null;
  readonly lastSeenAt: string | null;
  readonly online: boolean;
  readonly tags: string[];
  readonly note: string | null;
  readonly group: { id: string; name: string } | null;
  readonly owner: { id: string; username: string } | null;
  readonly admission: Admission;
  readonly banned: boolean;
  readonly banReason: string | null;
  readonly deleted: boolean;
  readonly deletedAt: string | null;
  readonly revoked: boolean;
  readonly revokedAt: string | null;
  readonly createdAt?: string;
}

export interface DeviceDetails extends Device {
  readonly uuid: string | null;
  readonly pk: string | null;
  readonly osUsername: string | null;
  readonly cpu: string | null;
  readonly memory: string | null;
  readonly admittedAt: string | null;
  readonly admittedBy: string | null;
  readonly registrationToken: { id: string; name: string; prefix: string } | null;
  readonly bannedAt: string | null;
  readonly bannedBy: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly links: { id: string; linkedAt: string }[];
  readonly strategy?: { id: string; name: string; via: 'device' | 'user' | 'group' } | null;
}

export interface DevicePage {
  readonly items: Device[];
  /** Only when asked for (withTotal): counting walks every match. */
  readonly total: number | null;
  readonly nextCursor: string | null;
}

export interface DeviceGroup {
  readonly id: string;
  readonly name: string;
  readonly note: string | null;
  readonly devices: number;
}

export interface Connection {
  readonly guid: string;
  readonly deviceId: string;
  readonly connId: number;
  readonly sessionId: string;
  readonly ip: string | null;
  readonly peerId: string | null;
  readonly peerName: string | null;
  readonly connType: number | null;
  readonly user: { id: string; username: string | null } | null;
  readonly note: string | null;
  readonly openedAt: string | null;
  readonly authorizedAt: string | null;
  readonly closedAt: string | null;
  readonly createdAt: string;
}

export interface ConnectionPage {
  readonly items: Connection[];
  readonly nextCursor: string | null;
}

export type BulkAction = 'approve' | 'ban' | 'unban' | 'delete';
export type BulkOutcome = 'ok' | 'not_found' | 'not_allowed' | 'already';

export interface BulkResult {
  readonly action: BulkAction;
  readonly dryRun: boolean;
  readonly results: { id: string; outcome: BulkOutcome; message: string | null }[];
  readonly counts: Record<BulkOutcome, number>;
}

export interface RevokePreview {
  readonly id: string;
  /** The linked devices, transitively, a cascading revoke also takes down. */
  readonly cascade: string[];
  readonly alreadyRevoked: boolean;
  readonly tooMany: boolean;
  readonly maxCascade: number;
}
