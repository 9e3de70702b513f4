import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import {
  type AuditAppendInput,
  DeviceAdminRepository,
  DeviceIdTakenError,
  type LockedDevice,
} from '@switchboard/data-access';
import { type JsonObject } from '@switchboard/audit';

import { API_CLOCK, API_CONFIG } from '../app.tokens';
import { type Actor, actorAuditEntry, eventActorOf } from '../auth/principal';
import { type Change, ChangeRunner, type Changes } from '../changes/change-runner';
import { type ApiConfig } from '../config';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';
import { DeviceDenySet, type DenySetSync } from './device-deny-set';
import { type DeviceDetailsView, deviceDetailsView, type DeviceView, deviceView } from './device-view';
import { deviceIdSchema, type ListDevicesQuery, type UpdateDeviceBody } from './devices.dto';

/** Most devices one revocation may take down through links: beyond it, unlink first (or revoke one by one). */
export const MAX_REVOKE_CASCADE = 1_000;

export interface DevicePageView {
  items: DeviceView[];
  total: number;
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/**
 * Device administration. Every change is one ChangeRunner.run: the row locked (FOR UPDATE) and
 * changed, its audit entry appended in the same transaction, then the relays' deny set synced and
 * the event published. Refusals throw inside the transaction, which rolls back with nothing written.
 */
@Injectable()
export class DevicesService {
  constructor(
    @Inject(DeviceAdminRepository) private readonly devices: Repositories['devices'],
    @Inject(ChangeRunner) private readonly changes: Changes,
    @Inject(DeviceDenySet) private readonly denySet: DenySetSync,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async list(query: ListDevicesQuery): Promise<DevicePageView> {
    const onlineSince = this.onlineSince();
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const { cursor: _cursor, limit, ...filter } = query;
    const page = await this.devices.list({ ...filter, onlineSince }, after, limit);
    const last = page.items.at(-1);
    return {
      items: page.items.map((device) => deviceView(device, onlineSince)),
      total: page.total,
      nextCursor: page.hasMore && last !== undefined ? encodeCursor(last.rustdeskId) : null,
    };
  }

  async get(rustdeskId: string): Promise<DeviceDetailsView> {
    const device = await this.devices.findDetails(rustdeskId);
    if (device === null) throw new NotFoundException('Device not found');
    return deviceDetailsView(device, this.onlineSince());
  }

  async update(rustdeskId: string, body: UpdateDeviceBody, actor: Actor): Promise<DeviceDetailsView> {
    await this.changes.run(async ({ devices: repo }) => {
      const device = await lockExisting(repo, rustdeskId);
      const changes: Record<string, JsonObject[string]> = {};
      let groupId: string | null | undefined;
      if (body.group !== undefined) {
        const group = body.group === null ? null : await repo.findGroup(body.group);
        if (body.group !== null && group === null)
          throw new BadRequestException(['group: no such device group']);
        groupId = group?.id ?? null;
        changes['group'] = group?.name ?? null;
      }
      let ownerId: string | null | undefined;
      if (body.owner !== undefined) {
        const owner = body.owner === null ? null : await repo.findUser(body.owner);
        if (body.owner !== null && owner === null) throw new BadRequestException(['owner: no such user']);
        ownerId = owner?.id ?? null;
        changes['owner'] = owner?.username ?? null;
      }
      if (body.note !== undefined) changes['note'] = body.note;
      if (body.tags !== undefined) changes['tags'] = body.tags;
      await repo.update(device.rowId, { note: body.note, tags: body.tags, groupId, ownerId });
      return { result: undefined, audit: [entry(actor, 'device.update', rustdeskId, { changes })] };
    });
    return this.get(rustdeskId);
  }

  async approve(rustdeskId: string, actor: Actor): Promise<DeviceDetailsView> {
    await this.changes.run(async ({ devices: repo }) => {
      const device = await lockExisting(repo, rustdeskId);
      if (device.deleted) throw new ConflictException('Device is deleted');
      if (device.admission !== 'pending')
        throw new ConflictException(`Device is not pending (${device.admission})`);
      await repo.approve(device.rowId, eventActorOf(actor.principal), this.clock.now());
      return {
        result: undefined,
        audit: [entry(actor, 'device.approve', rustdeskId, { from: device.admission })],
        events: [
          { type: 'DeviceApproved', payload: { deviceId: rustdeskId, actor: eventActorOf(actor.principal) } },
        ],
      };
    });
    return this.get(rustdeskId);
  }

  /** Bans an id; an id never seen gets a row (pending, banned) so it is refused when it first shows up. */
  async ban(rustdeskId: string, reason: string, actor: Actor): Promise<DeviceDetailsView> {
    await this.changes.run(async ({ devices: repo }) => {
      const { device, created } = await repo.lockOrCreate(rustdeskId);
      if (device.banned) throw new ConflictException('Device is already banned');
      const by = eventActorOf(actor.principal);
      await repo.ban([device.rowId], { reason, actor: by, at: this.clock.now() });
      return {
        result: undefined,
        audit: [entry(actor, 'device.ban', rustdeskId, { reason, created })],
        events: [{ type: 'DeviceBanned', payload: { deviceId: rustdeskId, reason, actor: by } }],
        beforeEvents: () => this.denySet.sync([rustdeskId]),
      };
    });
    return this.get(rustdeskId);
  }

  /** Lifts the ban only: a revoked or deleted device stays denied (and in the relays' set). */
  async unban(rustdeskId: string, actor: Actor): Promise<DeviceDetailsView> {
    await this.changes.run(async ({ devices: repo }) => {
      const device = await lockExisting(repo, rustdeskId);
      if (!device.banned) throw new ConflictException('Device is not banned');
      await repo.unban(device.rowId);
      return {
        result: undefined,
        audit: [
          entry(actor, 'device.unban', rustdeskId, {
            stillDenied: device.revoked || device.deleted,
          }),
        ],
        events: [
          { type: 'DeviceUnbanned', payload: { deviceId: rustdeskId, actor: eventActorOf(actor.principal) } },
        ],
        beforeEvents: () => this.denySet.sync([rustdeskId]),
      };
    });
    return this.get(rustdeskId);
  }

  /** Soft delete: the row stays, so the id cannot register again. */
  async delete(rustdeskId: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ devices: repo }) => {
      const device = await lockExisting(repo, rustdeskId);
      if (device.deleted) throw new ConflictException('Device is already deleted');
      await repo.softDelete(device.rowId, this.clock.now());
      return deletion(actor, device, false, this.denySet);
    });
  }

  /**
   * Purge: the row goes and the id is unknown again. A ban or a revocation lives in that row, so
   * purging a banned or revoked device would let it register afresh under `open`: refused. A ban
   * can be lifted first (audited); a revoked id stays known for good.
   */
  async purge(rustdeskId: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ devices: repo }) => {
      const device = await lockExisting(repo, rustdeskId);
      if (device.revoked) throw new ConflictException('A revoked device cannot be purged');
      if (device.banned) throw new ConflictException('A banned device cannot be purged: unban it first');
      await repo.hardDelete(device.rowId);
      return deletion(actor, device, true, this.denySet);
    });
  }

  /**
   * Revocation: soft-delete and ban the device, and with `cascade` every device linked to it,
   * transitively (the links form groups of ids of one machine or its clones, so one level would
   * leave clones of clones running). The event makes signal and the relays cut live links at once.
   */
  async revoke(
    rustdeskId: string,
    options: { cascade: boolean; reason?: string | undefined },
    actor: Actor,
  ): Promise<DeviceDetailsView> {
    await this.changes.run(async ({ devices: repo }) => {
      const linked = options.cascade ? await repo.linkedComponent(rustdeskId, MAX_REVOKE_CASCADE + 1) : [];
      if (linked.length > MAX_REVOKE_CASCADE) {
        throw new ConflictException(`More than ${MAX_REVOKE_CASCADE} linked devices; unlink some first`);
      }
      // All rows locked in one sorted pass, so overlapping revocations cannot deadlock.
      const locked = await repo.lockMany([rustdeskId, ...linked]);
      const target = locked.find((device) => device.rustdeskId === rustdeskId);
      if (target === undefined) throw new NotFoundException('Device not found');
      if (target.revoked) throw new ConflictException('Device is already revoked');
      const cascade = locked.filter((device) => device !== target).map((device) => device.rustdeskId);
      const reason = options.reason ?? 'revoked';
      const by = eventActorOf(actor.principal);
      await repo.revoke(
        locked.map((device) => device.rowId),
        { reason, actor: by, at: this.clock.now() },
      );
      const ids = [rustdeskId, ...cascade];
      return {
        result: undefined,
        audit: [
          entry(actor, 'device.revoke', rustdeskId, { reason, cascade }),
          ...cascade.map((id) => entry(actor, 'device.revoke', id, { reason, cascadeFrom: rustdeskId })),
        ],
        events: [{ type: 'DeviceRevoked', payload: { deviceId: rustdeskId, cascade, actor: by } }],
        beforeEvents: () => this.denySet.sync(ids),
      };
    });
    return this.get(rustdeskId);
  }

  async link(rustdeskId: string, otherId: string, actor: Actor): Promise<DeviceDetailsView> {
    await this.changes.run(async ({ devices: repo }) => {
      const [device, other] = await lockPair(repo, rustdeskId, otherId);
      if (!(await repo.link(device.rowId, other.rowId)))
        throw new ConflictException('Devices are already linked');
      return { result: undefined, audit: [entry(actor, 'device.link', rustdeskId, { linked: otherId })] };
    });
    return this.get(rustdeskId);
  }

  async unlink(rustdeskId: string, otherId: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ devices: repo }) => {
      const [device, other] = await lockPair(repo, rustdeskId, otherId);
      if (!(await repo.unlink(device.rowId, other.rowId)))
        throw new NotFoundException('Devices are not linked');
      return { result: undefined, audit: [entry(actor, 'device.unlink', rustdeskId, { unlinked: otherId })] };
    });
  }

  /** Renames a device: signal moves the live peer, and its deny-set membership moves with it. */
  async changeId(rustdeskId: string, newId: string, actor: Actor): Promise<DeviceDetailsView> {
    if (newId === rustdeskId) throw new BadRequestException(['newId: is the current id']);
    await this.changes.run(async ({ devices: repo }): Promise<Change<undefined>> => {
      const device = await lockExisting(repo, rustdeskId);
      try {
        await repo.changeId(device.rowId, newId);
      } catch (error) {
        if (error instanceof DeviceIdTakenError)
          throw new ConflictException('The new id is held by another device');
        throw error;
      }
      return {
        result: undefined,
        audit: [entry(actor, 'device.change_id', rustdeskId, { newId })],
        events: [
          {
            type: 'DeviceIdChanged',
            payload: { oldDeviceId: rustdeskId, newDeviceId: newId, actor: eventActorOf(actor.principal) },
          },
        ],
        beforeEvents: () => this.denySet.sync([rustdeskId, newId]),
      };
    });
    return this.get(newId);
  }

  private onlineSince(): Date {
    return new Date(this.clock.now().getTime() - this.config.DEVICE_ONLINE_WINDOW_SECONDS * 1000);
  }
}

async function lockExisting(repo: Repositories['devices'], rustdeskId: string): Promise<LockedDevice> {
  const device = await repo.lock(rustdeskId);
  if (device === null) throw new NotFoundException('Device not found');
  return device;
}

async function lockPair(
  repo: Repositories['devices'],
  rustdeskId: string,
  otherId: string,
): Promise<[LockedDevice, LockedDevice]> {
  if (rustdeskId === otherId) throw new BadRequestException(['otherId: a device cannot be linked to itself']);
  const locked = await repo.lockMany([rustdeskId, otherId]);
  const device = locked.find((row) => row.rustdeskId === rustdeskId);
  const other = locked.find((row) => row.rustdeskId === otherId);
  if (device === undefined || other === undefined) throw new NotFoundException('Device not found');
  return [device, other];
}

/** A delete's or purge's audit entry, DeviceDeleted event and deny-set sync (the purged id leaves it). */
function deletion(
  actor: Actor,
  device: LockedDevice,
  hard: boolean,
  denySet: DenySetSync,
): Change<undefined> {
  const deviceId = device.rustdeskId;
  return {
    result: undefined,
    audit: [
      entry(actor, hard ? 'device.delete_hard' : 'device.delete', deviceId, {
        hard,
        wasBanned: device.banned,
        wasRevoked: device.revoked,
      }),
    ],
    events: [{ type: 'DeviceDeleted', payload: { deviceId, actor: eventActorOf(actor.principal), hard } }],
    beforeEvents: () => denySet.sync([deviceId]),
  };
}

function entry(actor: Actor, action: string, rustdeskId: string, details: JsonObject): AuditAppendInput {
  return actorAuditEntry(actor, action, { type: 'device', id: rustdeskId }, details);
}

// The cursor is the last id of a page, opaque to clients so the order key can change later.
function encodeCursor(rustdeskId: string): string {
  return Buffer.from(rustdeskId, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!deviceIdSchema.safeParse(id).success) throw new BadRequestException(['cursor: invalid cursor']);
  return id;
}
