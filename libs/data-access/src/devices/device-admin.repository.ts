import { Prisma, type PrismaClient } from '../generated/prisma/client';
import {
  countDevicesSql,
  type CountRow,
  directLinksSql,
  effectiveStrategySql,
  findGroupIdSql,
  findOwnersMatchingSql,
  type DeviceListFilter,
  type DeviceListOrder,
  type DeviceListPosition,
  type DeviceListRow,
  type DeviceListSegment,
  type DeviceOsFamily,
  type IdRow,
  insertPlaceholderSql,
  linkedComponentSql,
  type LinkRow,
  listDevicesSql,
  lockDeviceSql,
  lockDevicesSql,
  type LockedDeviceRow,
  readDevicesSql,
  type ResolvedDeviceListFilter,
  type RustdeskIdRow,
  sortKeyIsNullable,
  type StrategyRow,
} from './device-admin.sql';
import { type DeviceAdmission } from './device.repository';

export type {
  DeviceListFilter,
  DeviceListOrder,
  DeviceListPosition,
  DeviceOsFamily,
  DeviceSortKey,
} from './device-admin.sql';
export { DEVICE_OS_FAMILIES, DEVICE_SORT_KEYS } from './device-admin.sql';

/** A device as the listing shows it: no Prisma types cross this boundary. */
export interface DeviceSummary {
  readonly rustdeskId: string;
  readonly hostname: string | null;
  readonly os: string | null;
  /** windows | macos | linux | android | ios | other, derived from `os` in the database; null without one. */
  readonly osFamily: DeviceOsFamily | null;
  readonly version: string | null;
  readonly lastIp: string | null;
  readonly lastSeenAt: Date | null;
  readonly createdAt: Date;
  readonly tags: readonly string[];
  readonly note: string | null;
  readonly group: { readonly id: string; readonly name: string } | null;
  readonly owner: { readonly id: string; readonly username: string } | null;
  readonly admission: DeviceAdmission;
  readonly banned: boolean;
  readonly banReason: string | null;
  readonly deletedAt: Date | null;
  readonly revokedAt: Date | null;
}

export interface DeviceDetails extends DeviceSummary {
  readonly uuid: Uint8Array | null;
  readonly pk: Uint8Array | null;
  readonly osUsername: string | null;
  readonly cpu: string | null;
  readonly memory: string | null;
  readonly admittedAt: Date | null;
  readonly admittedBy: string | null;
  readonly registrationToken: { readonly id: string; readonly name: string; readonly prefix: string } | null;
  readonly bannedAt: Date | null;
  readonly bannedBy: string | null;
  readonly updatedAt: Date;
  /** The strategy its heartbeat gets and which assignment gives it (device > owner > device group). */
  readonly strategy: { readonly id: string; readonly name: string; readonly via: StrategyRow['via'] } | null;
  /** Devices linked directly to this one (either direction), for cascade revocation. */
  readonly links: readonly { readonly rustdeskId: string; readonly linkedAt: Date }[];
}

export interface DevicePage {
  readonly items: DeviceSummary[];
  /** Only when asked for (`withTotal`): a count walks every matching row. */
  readonly total: number | null;
  /** True when rows follow the last item. */
  readonly hasMore: boolean;
}

/** A device's admin state as read under its row lock. */
export interface LockedDevice {
  /** The row's surrogate key (device_links and foreign keys use it). */
  readonly rowId: string;
  readonly rustdeskId: string;
  readonly admission: DeviceAdmission;
  readonly banned: boolean;
  readonly deleted: boolean;
  readonly revoked: boolean;
  readonly uuid: Uint8Array | null;
  readonly registrationTokenId: string | null;
}

export interface DevicePatch {
  readonly note?: string | null;
  readonly tags?: readonly string[];
  readonly groupId?: string | null;
  readonly ownerId?: string | null;
}

export interface DeviceGroupRecord {
  readonly id: string;
  readonly name: string;
  readonly note: string | null;
  readonly createdAt: Date;
  readonly devices: number;
}

/** Who did it and why, for the ban columns. */
export interface BanStamp {
  readonly reason: string;
  readonly actor: string;
  readonly at: Date;
}

export interface DeployAdmission {
  readonly uuid: Uint8Array;
  readonly pk: Uint8Array;
  /** The token spent; null when an API key deployed it (no token involved). */
  readonly registrationTokenId: string | null;
  readonly admittedBy: string;
  readonly at: Date;
}

export class DeviceGroupNameTakenError extends Error {
  constructor(readonly groupName: string) {
    super(`A device group named "${groupName}" already exists`);
    this.name = 'DeviceGroupNameTakenError';
  }
}

export class DeviceIdTakenError extends Error {
  constructor(readonly rustdeskId: string) {
    super(`The RustDesk id ${rustdeskId} is held by another device`);
    this.name = 'DeviceIdTakenError';
  }
}

// A probe reads this many rows in sort order per row wanted (at least MIN_PROBE_ROWS): a page fills
// from it when at least one row in 20 matches, which every filter but a narrow one does; reading
// 2,000 rows costs a few milliseconds, so a probe that falls short wastes little.
const PROBE_ROWS_PER_ROW = 20;
const MIN_PROBE_ROWS = 2_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNIQUE_VIOLATION = 'P2002';

const DETAIL_INCLUDE = {
  group: { select: { id: true, name: true } },
  owner: { select: { id: true, username: true } },
  registrationToken: { select: { id: true, name: true, prefix: true } },
} as const;

/**
 * The api's side of the devices table: listing and details for operators, and every admin-state
 * change (approval, bans, deletion, revocation, links, metadata). Signal's write-behind
 * (device.repository.ts) never writes these columns. Accepts the client or an interactive
 * transaction, so a change and its audit entry commit together; the state-changing methods expect
 * the caller to hold the row lock (lock / lockMany) in that same transaction.
 */
export class DeviceAdminRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  /**
   * One page in `order`, after `after` (keyset). A nullable sort key is read in two range scans,
   * rows with a key first and then rows without (last in either direction), the second only when
   * the first leaves the page short. `withTotal` adds a count of every matching row.
   */
  async list(
    filter: DeviceListFilter,
    order: DeviceListOrder,
    after: DeviceListPosition | undefined,
    limit: number,
    withTotal = false,
  ): Promise<DevicePage> {
    const resolved = await this.resolveFilter(filter);
    // A group that does not exist holds no device.
    if (resolved === null) return { items: [], total: withTotal ? 0 : null, hasMore: false };
    const wanted = limit + 1;
    const rows: DeviceListRow[] = [];
    const inUnkeyed = sortKeyIsNullable(order.sort) && after !== undefined && after.key === null;
    if (!inUnkeyed) rows.push(...(await this.segment(resolved, order, 'keyed', after, wanted)));
    if (sortKeyIsNullable(order.sort) && rows.length < wanted) {
      rows.push(
        ...(await this.segment(
          resolved,
          order,
          'unkeyed',
          inUnkeyed ? after : undefined,
          wanted - rows.length,
        )),
      );
    }
    let total: number | null = null;
    if (withTotal) total = (await this.db.$queryRaw<CountRow[]>(countDevicesSql(resolved)))[0]?.count ?? 0;
    return { items: rows.slice(0, limit).map(toSummary), total, hasMore: rows.length > limit };
  }

  /** A probe in sort order first; when it leaves the page short, every match sorted (DeviceListPlan). */
  private async segment(
    filter: ResolvedDeviceListFilter,
    order: DeviceListOrder,
    segment: DeviceListSegment,
    after: DeviceListPosition | undefined,
    wanted: number,
  ): Promise<DeviceListRow[]> {
    const probe = { probe: Math.max(MIN_PROBE_ROWS, wanted * PROBE_ROWS_PER_ROW) };
    const found = await this.db.$queryRaw<DeviceListRow[]>(
      listDevicesSql(filter, order, segment, after, wanted, probe),
    );
    if (found.length >= wanted) return found;
    return this.db.$queryRaw<DeviceListRow[]>(
      listDevicesSql(filter, order, segment, after, wanted, 'matches'),
    );
  }

  /** The look-ups a listing's filter needs, done first (device-admin.sql.ts says why); null: no such group. */
  private async resolveFilter(filter: DeviceListFilter): Promise<ResolvedDeviceListFilter | null> {
    const { group, ...rest } = filter;
    let groupId: string | undefined;
    if (group !== undefined) {
      const [row] = await this.db.$queryRaw<IdRow[]>(findGroupIdSql(group));
      if (row === undefined) return null;
      groupId = row.id;
    }
    let qOwnerIds: string[] | undefined;
    if (filter.q !== undefined && filter.q !== '') {
      const owners = await this.db.$queryRaw<IdRow[]>(findOwnersMatchingSql(filter.q));
      qOwnerIds = owners.map((owner) => owner.id);
    }
    return { ...rest, groupId, qOwnerIds };
  }

  async findDetails(rustdeskId: string): Promise<DeviceDetails | null> {
    const row = await this.db.device.findUnique({ where: { rustdeskId }, include: DETAIL_INCLUDE });
    if (row === null) return null;
    const links = await this.db.$queryRaw<LinkRow[]>(directLinksSql(row.id));
    const [strategy] = await this.db.$queryRaw<StrategyRow[]>(effectiveStrategySql(row.id));
    return {
      rustdeskId: row.rustdeskId,
      hostname: row.hostname,
      os: row.os,
      osFamily: row.osFamily as DeviceOsFamily | null,
      version: row.version,
      lastIp: row.lastIp,
      lastSeenAt: row.lastSeenAt,
      tags: row.tags,
      note: row.note,
      group: row.group,
      owner: row.owner,
      admission: row.admission,
      banned: row.banned,
      banReason: row.banReason,
      deletedAt: row.deletedAt,
      revokedAt: row.revokedAt,
      uuid: row.uuid,
      pk: row.pk,
      osUsername: row.osUsername,
      cpu: row.cpu,
      memory: row.memory,
      admittedAt: row.admittedAt,
      admittedBy: row.admittedBy,
      registrationToken: row.registrationToken,
      bannedAt: row.bannedAt,
      bannedBy: row.bannedBy,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      links: links.map((link) => ({ rustdeskId: link.rustdesk_id, linkedAt: link.created_at })),
      strategy: strategy ?? null,
    };
  }

  /** Direct links of one device (either direction), in id order; null when there is no such device. */
  async directLinks(rustdeskId: string): Promise<{ rustdeskId: string; linkedAt: Date }[] | null> {
    const row = await this.db.device.findUnique({ where: { rustdeskId }, select: { id: true } });
    if (row === null) return null;
    const links = await this.db.$queryRaw<LinkRow[]>(directLinksSql(row.id));
    return links.map((link) => ({ rustdeskId: link.rustdesk_id, linkedAt: link.created_at }));
  }

  /** Reads one device FOR UPDATE; null when there is no row. */
  async lock(rustdeskId: string): Promise<LockedDevice | null> {
    const [row] = await this.db.$queryRaw<LockedDeviceRow[]>(lockDeviceSql(rustdeskId));
    return row === undefined ? null : toLocked(row);
  }

  async lockMany(rustdeskIds: readonly string[]): Promise<LockedDevice[]> {
    if (rustdeskIds.length === 0) return [];
    return (await this.db.$queryRaw<LockedDeviceRow[]>(lockDevicesSql(rustdeskIds))).map(toLocked);
  }

  /** The same state as lockMany, read without locking (for a dry run); unknown ids are left out. */
  async readMany(rustdeskIds: readonly string[]): Promise<LockedDevice[]> {
    if (rustdeskIds.length === 0) return [];
    return (await this.db.$queryRaw<LockedDeviceRow[]>(readDevicesSql(rustdeskIds))).map(toLocked);
  }

  /** Locks the row, creating a `pending` one first if the id is unknown. */
  async lockOrCreate(rustdeskId: string): Promise<{ device: LockedDevice; created: boolean }> {
    const inserted = await this.db.$queryRaw<IdRow[]>(insertPlaceholderSql(rustdeskId));
    const device = await this.lock(rustdeskId);
    if (device === null) throw new Error(`device ${rustdeskId} vanished while being locked`);
    return { device, created: inserted.length > 0 };
  }

  async update(rowId: string, patch: DevicePatch): Promise<void> {
    await this.db.device.update({
      where: { id: rowId },
      data: {
        ...(patch.note !== undefined ? { note: patch.note } : {}),
        ...(patch.tags !== undefined ? { tags: [...patch.tags] } : {}),
        ...(patch.groupId !== undefined ? { groupId: patch.groupId } : {}),
        ...(patch.ownerId !== undefined ? { ownerId: patch.ownerId } : {}),
      },
    });
  }

  async approve(rowId: string, actor: string, at: Date): Promise<void> {
    await this.db.device.update({
      where: { id: rowId },
      data: { admission: 'admitted', admittedAt: at, admittedBy: actor },
    });
  }

  async ban(rowIds: readonly string[], stamp: BanStamp): Promise<void> {
    await this.db.device.updateMany({
      where: { id: { in: [...rowIds] } },
      data: { banned: true, banReason: stamp.reason, bannedAt: stamp.at, bannedBy: stamp.actor },
    });
  }

  async unban(rowId: string): Promise<void> {
    await this.db.device.update({
      where: { id: rowId },
      data: { banned: false, banReason: null, bannedAt: null, bannedBy: null },
    });
  }

  async softDelete(rowId: string, at: Date): Promise<void> {
    await this.db.device.update({ where: { id: rowId }, data: { deletedAt: at } });
  }

  /** Removes the row (its links go with it, ON DELETE CASCADE): the id is unknown again. */
  async hardDelete(rowId: string): Promise<void> {
    await this.db.device.delete({ where: { id: rowId } });
  }

  /**
   * Revocation of the locked devices: revoked and soft-deleted from `at`, and banned with the
   * stamp unless already banned (an earlier ban keeps its reason and actor).
   */
  async revoke(rowIds: readonly string[], stamp: BanStamp): Promise<void> {
    const ids = [...rowIds];
    await this.db.device.updateMany({
      where: { id: { in: ids }, banned: false },
      data: { banned: true, banReason: stamp.reason, bannedAt: stamp.at, bannedBy: stamp.actor },
    });
    await this.db.device.updateMany({
      where: { id: { in: ids }, revokedAt: null },
      data: { revokedAt: stamp.at },
    });
    await this.db.device.updateMany({
      where: { id: { in: ids }, deletedAt: null },
      data: { deletedAt: stamp.at },
    });
  }

  /** RustDesk ids linked to this one, transitively (at most `limit`; callers ask one more to spot overflow). */
  async linkedComponent(rustdeskId: string, limit: number): Promise<string[]> {
    const rows = await this.db.$queryRaw<RustdeskIdRow[]>(linkedComponentSql(rustdeskId, limit));
    return rows.map((row) => row.rustdesk_id);
  }

  /** Links two devices; false when they already are (in either direction). */
  async link(rowId: string, otherRowId: string): Promise<boolean> {
    const existing = await this.db.deviceLink.count({
      where: {
        OR: [
          { deviceId: rowId, linkedDeviceId: otherRowId },
          { deviceId: otherRowId, linkedDeviceId: rowId },
        ],
      },
    });
    if (existing > 0) return false;
    await this.db.deviceLink.create({ data: { deviceId: rowId, linkedDeviceId: otherRowId } });
    return true;
  }

  /** Removes the link in both directions; false when there was none. */
  async unlink(rowId: string, otherRowId: string): Promise<boolean> {
    const { count } = await this.db.deviceLink.deleteMany({
      where: {
        OR: [
          { deviceId: rowId, linkedDeviceId: otherRowId },
          { deviceId: otherRowId, linkedDeviceId: rowId },
        ],
      },
    });
    return count > 0;
  }

  /** Renames a locked device; DeviceIdTakenError when another row holds `newId` (the unique index decides). */
  async changeId(rowId: string, newId: string): Promise<void> {
    try {
      await this.db.device.update({ where: { id: rowId }, data: { rustdeskId: newId } });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DeviceIdTakenError(newId);
      throw error;
    }
  }

  /** Admits a device deployed with a registration token: its uuid and key become the stored ones. */
  async admitDeployed(rowId: string, admission: DeployAdmission): Promise<void> {
    await this.db.device.update({
      where: { id: rowId },
      data: {
        admission: 'admitted',
        uuid: Buffer.from(admission.uuid),
        pk: Buffer.from(admission.pk),
        registrationTokenId: admission.registrationTokenId,
        admittedAt: admission.at,
        admittedBy: admission.admittedBy,
      },
    });
  }

  // ─── groups and owners, referenced by id or by name ─────────────────────────

  async findGroup(idOrName: string): Promise<{ id: string; name: string } | null> {
    return this.db.deviceGroup.findFirst({
      where: UUID.test(idOrName) ? { id: idOrName } : { name: idOrName },
      select: { id: true, name: true },
    });
  }

  async findUser(idOrUsername: string): Promise<{ id: string; username: string } | null> {
    return this.db.user.findFirst({
      where: UUID.test(idOrUsername) ? { id: idOrUsername } : { username: idOrUsername.toLowerCase() },
      select: { id: true, username: true },
    });
  }

  async listGroups(): Promise<DeviceGroupRecord[]> {
    const rows = await this.db.deviceGroup.findMany({
      orderBy: { name: 'asc' },
      include: { _count: { select: { devices: true } } },
    });
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      note: row.note,
      createdAt: row.createdAt,
      devices: row._count.devices,
    }));
  }

  async createGroup(name: string, note: string | null): Promise<DeviceGroupRecord> {
    try {
      const row = await this.db.deviceGroup.create({ data: { name, note } });
      return { id: row.id, name: row.name, note: row.note, createdAt: row.createdAt, devices: 0 };
    } catch (error) {
      if (isUniqueViolation(error)) throw new DeviceGroupNameTakenError(name);
      throw error;
    }
  }

  /** Deletes a group (its devices keep existing, ungrouped); false when there was none. */
  async deleteGroup(id: string): Promise<{ id: string; name: string } | null> {
    if (!UUID.test(id)) return null;
    const group = await this.db.deviceGroup.findUnique({ where: { id }, select: { id: true, name: true } });
    if (group === null) return null;
    await this.db.deviceGroup.delete({ where: { id } });
    return group;
  }
}

function toSummary(row: DeviceListRow): DeviceSummary {
  return {
    rustdeskId: row.rustdesk_id,
    hostname: row.hostname,
    os: row.os,
    osFamily: row.os_family as DeviceOsFamily | null,
    version: row.version,
    lastIp: row.last_ip,
    lastSeenAt: row.last_seen_at,
    createdAt: row.created_at,
    tags: row.tags,
    note: row.note,
    group: row.group_id === null ? null : { id: row.group_id, name: row.group_name ?? '' },
    owner: row.owner_id === null ? null : { id: row.owner_id, username: row.owner_username ?? '' },
    admission: row.admission,
    banned: row.banned,
    banReason: row.ban_reason,
    deletedAt: row.deleted_at,
    revokedAt: row.revoked_at,
  };
}

function toLocked(row: LockedDeviceRow): LockedDevice {
  return {
    rowId: row.id,
    rustdeskId: row.rustdesk_id,
    admission: row.admission,
    banned: row.banned,
    deleted: row.deleted,
    revoked: row.revoked,
    uuid: row.uuid,
    registrationTokenId: row.registration_token_id,
  };
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === UNIQUE_VIOLATION;
}
