import { type Prisma, type PrismaClient } from '../generated/prisma/client';
import { type DeviceAdmission } from '../devices/device.repository';
import {
  type AssigneeRow,
  claimDisconnectsSql,
  type ConnIdRow,
  devicesWithPendingDisconnectsSql,
  flushHeartbeatsSql,
  lockAssigneeSql,
  storeSysinfoSql,
  type HeartbeatWrite,
  type PendingDisconnectRow,
  syncIdentitySql,
  type SyncIdentityRow,
} from './device-sync.sql';

export type { HeartbeatWrite } from './device-sync.sql';

/** What the client API needs to know about a device that posts sysinfo or a heartbeat. */
export interface DeviceSyncIdentity {
  readonly rowId: string;
  /** RegisterPk.uuid as signal stored it; null before the device registered a key. */
  readonly uuid: Uint8Array | null;
  readonly ownerId: string | null;
  readonly groupId: string | null;
  readonly admission: DeviceAdmission;
  readonly banned: boolean;
  readonly deleted: boolean;
  readonly revoked: boolean;
  /** Fingerprint of the last stored sysinfo; null when the server has none. */
  readonly sysinfoHash: string | null;
}

/** The sysinfo fields the client reports (src/hbbs_http/sync.rs), already cut to the column limits. */
export interface SysinfoWrite {
  readonly cpu: string | null;
  readonly memory: string | null;
  readonly os: string | null;
  readonly hostname: string | null;
  readonly osUsername: string | null;
  readonly version: string | null;
}

/** What presets and `rustdesk --assign` may change on a device, read under its row lock. */
export interface DeviceAssignee {
  readonly rowId: string;
  readonly rustdeskId: string;
  readonly ownerId: string | null;
  readonly groupId: string | null;
  readonly note: string | null;
}

export interface DisconnectRequest {
  readonly deviceRowId: string;
  readonly connId: number;
  readonly requestedBy: string;
  readonly at: Date;
  readonly expiresAt: Date;
}

/**
 * Device sync for the client API: identity lookups, sysinfo, batched heartbeats and the operator's
 * disconnect requests. Accepts the client or a transaction.
 */
export class DeviceSyncRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async findIdentity(rustdeskId: string): Promise<DeviceSyncIdentity | null> {
    const [row] = await this.db.$queryRaw<SyncIdentityRow[]>(syncIdentitySql(rustdeskId));
    return row === undefined ? null : toIdentity(row);
  }

  async lockAssignee(rustdeskId: string): Promise<DeviceAssignee | null> {
    const [row] = await this.db.$queryRaw<AssigneeRow[]>(lockAssigneeSql(rustdeskId));
    if (row === undefined) return null;
    return {
      rowId: row.id,
      rustdeskId: row.rustdesk_id,
      ownerId: row.owner_id,
      groupId: row.group_id,
      note: row.note,
    };
  }

  async storeSysinfo(rowId: string, sysinfo: SysinfoWrite, hash: string, at: Date): Promise<void> {
    await this.db.$executeRaw(storeSysinfoSql(rowId, sysinfo, hash, at));
  }

  /** Sets the names the device shows (`rustdesk --assign --device_username/--device_name`). */
  async setReportedNames(rowId: string, names: { hostname?: string; osUsername?: string }): Promise<void> {
    await this.db.device.update({ where: { id: rowId }, data: names });
  }

  async flushHeartbeats(writes: readonly HeartbeatWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.db.$executeRaw(flushHeartbeatsSql(writes));
  }

  async requestDisconnect(request: DisconnectRequest): Promise<void> {
    await this.db.deviceDisconnect.create({
      data: {
        deviceId: request.deviceRowId,
        connId: request.connId,
        requestedBy: request.requestedBy,
        requestedAt: request.at,
        expiresAt: request.expiresAt,
      },
    });
  }

  async devicesWithPendingDisconnects(now: Date): Promise<string[]> {
    const rows = await this.db.$queryRaw<PendingDisconnectRow[]>(devicesWithPendingDisconnectsSql(now));
    return rows.map((row) => row.device_id);
  }

  async claimDisconnects(rowId: string, now: Date): Promise<number[]> {
    const rows = await this.db.$queryRaw<ConnIdRow[]>(claimDisconnectsSql(rowId, now));
    return rows.map((row) => row.conn_id);
  }
}

function toIdentity(row: SyncIdentityRow): DeviceSyncIdentity {
  return {
    rowId: row.id,
    uuid: row.uuid,
    ownerId: row.owner_id,
    groupId: row.group_id,
    admission: row.admission,
    banned: row.banned,
    deleted: row.deleted_at !== null,
    revoked: row.revoked_at !== null,
    sysinfoHash: row.sysinfo_hash,
  };
}
