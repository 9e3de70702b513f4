import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import {
  type AuditAppendInput,
  DeviceAdminRepository,
  DeviceIdTakenError,
  type DeviceListPosition,
  type DeviceSortKey,
  type LockedDevice,
} from '@switchboard/data-access';
import { z } from 'zod';
import { type JsonObject } from '@switchboard/audit';

import { API_CLOCK, API_CONFIG } from '../app.tokens';
import { type Permission, roleHas } from '../auth/permissions';
import { type Actor, actorAuditEntry, eventActorOf } from '../auth/principal';
import { type Change, ChangeRunner, type Changes } from '../changes/change-runner';
import { type ApiConfig } from '../config';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';
import { DeviceDenySet, type DenySetSync } from './device-deny-set';
import {
  type BulkOutcome,
  type BulkResultView,
  type DeviceDetailsView,
  deviceDetailsView,
  type DeviceLinksView,
  type DevicePageView,
  deviceView,
  type RevokePreviewView,
} from './device-view';
import {
  type BulkDeviceAction,
  type BulkDeviceActionBody,
  deviceIdSchema,
  type ListDevicesQuery,
  type UpdateDeviceBody,
} from './devices.dto';

/** Most devices one revocation may take down through links: beyond it, unlink first (or revoke one by one). */
export const MAX_REVOKE_CASCADE = 1_000;

/** The permission each bulk action needs: the single-device route's. */
export const BULK_ACTION_PERMISSIONS: Readonly<Record<BulkDeviceAction, Permission>> = {
  approve: 'device.manage',
  ban: 'device.ban',
  unban: 'device.ban',
  delete: 'device.manage',
};

/** Why an action is refused for one device: the single route answers it (404 or 409), bulk reports it per id. */
interface Refusal {
  readonly outcome: Exclude<BulkOutcome, 'ok'>;
  readonly message: string;
}

const NOT_FOUND: Refusal = { outcome: 'not_found', message: 'Device not found' };

/**
 * Whether each action may go ahead on a device as it stands: the one decision the single routes, the
 * bulk route and its dry run all take (the first two under the row lock, the dry run on a plain read).
 */
const PRECONDITIONS: Readonly<
  Record<BulkDeviceAction, (device: LockedDevice | undefined) => Refusal | null>
> = {
  approve: (device) => {
    if (device === undefined) return NOT_FOUND;
    if (device.deleted) return { outcome: 'not_allowed', message: 'Device is deleted' };
    if (device.admission === 'pending') return null;
    return {
      outcome: device.admission === 'admitted' ? 'already' : 'not_allowed',
      message: `Device is not pending (${device.admission})`,
    };
  },
  ban: (device) =>
    device === undefined
      ? NOT_FOUND
      : device.banned
        ? { outcome: 'already', message: 'Device is already banned' }
        : null,
  unban: (device) =>
    device === undefined
      ? NOT_FOUND
      : !device.banned
        ? { outcome: 'already', message: 'Device is not banned' }
        : null,
  delete: (device) =>
    device === undefined
      ? NOT_FOUND
      : device.deleted
        ? { outcome: 'already', message: 'Device is already deleted' }
        : null,
};

/** A refusal as an HTTP error that still carries it, so bulk can tell the outcome apart. */
class RefusedNotFound extends NotFoundException {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}
class RefusedConflict extends ConflictException {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

function refused(refusal: Refusal): RefusedNotFound | RefusedConflict {
  return refusal.outcome === 'not_found' ? new RefusedNotFound(refusal) : new RefusedConflict(refusal);
}

/** The device, if `action` may go ahead on it; else the refusal, thrown. */
function allowed(action: BulkDeviceAction, device: LockedDevice | undefined): LockedDevice {
  const refusal = PRECONDITIONS[action](device);
  if (refusal !== null) throw refused(refusal);
  // Every precondition refuses a missing device; this only tells the compiler.
  if (device === undefined) throw refused(NOT_FOUND);
  return device;
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
    const { cursor, limit, sort, order, withTotal, ...filter } = query;
    const after = cursor === undefined ? undefined : decodeCursor(cursor, sort, order);
    const page = await this.devices.list(
      { ...filter, onlineSince },
      { sort, order },
      after,
      limit,
      withTotal === true,
    );
    const last = page.items.at(-1);
    return {
      items: page.items.map((device) => deviceView(device, onlineSince)),
      total: page.total,
      nextCursor:
        page.hasMore && last !== undefined
          ? encodeCursor(sort, order, { key: sortKeyOf(last, sort), rustdeskId: last.rustdeskId })
          : null,
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
    await this.applyApprove(rustdeskId, actor);
    return this.get(rustdeskId);
  }

  private async applyApprove(rustdeskId: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ devices: repo }) => {
      const device = allowed('approve', (await repo.lock(rustdeskId)) ?? undefined);
      await repo.approve(device.rowId, eventActorOf(actor.principal), this.clock.now());
      return {
        result: undefined,
        audit: [entry(actor, 'device.approve', rustdeskId, { from: device.admission })],
        events: [
          { type: 'DeviceApproved', payload: { deviceId: rustdeskId, actor: eventActorOf(actor.principal) } },
        ],
      };
    });
  }

  /** Bans an id; an id never seen gets a row (pending, banned) so it is refused when it first shows up. */
  async ban(rustdeskId: string, reason: string, actor: Actor): Promise<DeviceDetailsView> {
    await this.applyBan(rustdeskId, reason, actor, true);
    return this.get(rustdeskId);
  }

  /** `createIfMissing` false (bulk): an unknown id is not found rather than banned ahead. */
  private async applyBan(
    rustdeskId: string,
    reason: string,
    actor: Actor,
    createIfMissing: boolean,
  ): Promise<void> {
    await this.changes.run(async ({ devices: repo }) => {
      const locked = createIfMissing
        ? await repo.lockOrCreate(rustdeskId)
        : { device: (await repo.lock(rustdeskId)) ?? undefined, created: false };
      const device = allowed('ban', locked.device);
      const created = locked.created;
      const by = eventActorOf(actor.principal);
      await repo.ban([device.rowId], { reason, actor: by, at: this.clock.now() });
      return {
        result: undefined,
        audit: [entry(actor, 'device.ban', rustdeskId, { reason, created })],
        events: [{ type: 'DeviceBanned', payload: { deviceId: rustdeskId, reason, actor: by } }],
        beforeEvents: () => this.denySet.sync([rustdeskId]),
      };
    });
  }

  /** Lifts the ban only: a revoked or deleted device stays denied (and in the relays' set). */
  async unban(rustdeskId: string, actor: Actor): Promise<DeviceDetailsView> {
    await this.applyUnban(rustdeskId, actor);
    return this.get(rustdeskId);
  }

  private async applyUnban(rustdeskId: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ devices: repo }) => {
      const device = allowed('unban', (await repo.lock(rustdeskId)) ?? undefined);
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
  }

  /** Soft delete: the row stays, so the id cannot register again. */
  async delete(rustdeskId: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ devices: repo }) => {
      const device = allowed('delete', (await repo.lock(rustdeskId)) ?? undefined);
      await repo.softDelete(device.rowId, this.clock.now());
      return deletion(actor, device, false, this.denySet);
    });
  }

  /**
   * One action on up to MAX_BULK_DEVICES devices, each exactly as its single route does it: its own
   * transaction, row lock, audit entry, deny-set sync and event, so one refusal costs nothing but
   * its own line in the answer. The role needs the single route's permission for the action. A dry
   * run reads the devices and takes the same decision (PRECONDITIONS) without acting; a change made
   * between it and the real request can still turn an `ok` into `already`.
   */
  async bulk(body: BulkDeviceActionBody, actor: Actor): Promise<BulkResultView> {
    const permission = BULK_ACTION_PERMISSIONS[body.action];
    if (!roleHas(actor.principal.role, permission)) {
      throw new ForbiddenException(`Missing permission ${permission}`);
    }
    const results: BulkResultView['results'] = [];
    if (body.dryRun) {
      const found = new Map(
        (await this.devices.readMany(body.ids)).map((device) => [device.rustdeskId, device]),
      );
      for (const id of body.ids) results.push(result(id, PRECONDITIONS[body.action](found.get(id))));
    } else {
      for (const id of body.ids) {
        try {
          await this.applyOne(body.action, id, body.reason, actor);
          results.push(result(id, null));
        } catch (error) {
          if (!(error instanceof RefusedNotFound || error instanceof RefusedConflict)) throw error;
          results.push(result(id, error.refusal));
        }
      }
    }
    const counts = { ok: 0, not_found: 0, not_allowed: 0, already: 0 };
    for (const line of results) counts[line.outcome] += 1;
    return { action: body.action, dryRun: body.dryRun, results, counts };
  }

  private applyOne(
    action: BulkDeviceAction,
    rustdeskId: string,
    reason: string | undefined,
    actor: Actor,
  ): Promise<void> {
    switch (action) {
      case 'approve':
        return this.applyApprove(rustdeskId, actor);
      case 'ban':
        // The DTO requires a reason for ban.
        return this.applyBan(rustdeskId, reason ?? 'banned', actor, false);
      case 'unban':
        return this.applyUnban(rustdeskId, actor);
      case 'delete':
        return this.delete(rustdeskId, actor);
    }
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
      const linked = options.cascade ? await revokeCascade(repo, rustdeskId) : [];
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

  /**
   * What a cascading revoke of this device would take down, from the same query the revoke runs
   * (revokeCascade), read outside its transaction: links changed in between change the answer.
   */
  async revokePreview(rustdeskId: string): Promise<RevokePreviewView> {
    const [device] = await this.devices.readMany([rustdeskId]);
    if (device === undefined) throw new NotFoundException('Device not found');
    const linked = await revokeCascade(this.devices, rustdeskId);
    return {
      id: rustdeskId,
      cascade: linked.slice(0, MAX_REVOKE_CASCADE),
      alreadyRevoked: device.revoked,
      tooMany: linked.length > MAX_REVOKE_CASCADE,
      maxCascade: MAX_REVOKE_CASCADE,
    };
  }

  async links(rustdeskId: string): Promise<DeviceLinksView> {
    const links = await this.devices.directLinks(rustdeskId);
    if (links === null) throw new NotFoundException('Device not found');
    return {
      id: rustdeskId,
      links: links.map((link) => ({ id: link.rustdeskId, linkedAt: link.linkedAt.toISOString() })),
    };
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

/** Every device a cascading revoke takes with it (one more than allowed, to tell an oversized set). */
function revokeCascade(repo: Pick<Repositories['devices'], 'linkedComponent'>, rustdeskId: string) {
  return repo.linkedComponent(rustdeskId, MAX_REVOKE_CASCADE + 1);
}

function result(id: string, refusal: Refusal | null): BulkResultView['results'][number] {
  return refusal === null
    ? { id, outcome: 'ok', message: null }
    : { id, outcome: refusal.outcome, message: refusal.message };
}

function sortKeyOf(
  device: {
    rustdeskId: string;
    hostname: string | null;
    os: string | null;
    lastSeenAt: Date | null;
    createdAt: Date;
  },
  sort: DeviceSortKey,
): string | Date | null {
  switch (sort) {
    case 'rustdeskId':
      return device.rustdeskId;
    case 'hostname':
      return device.hostname;
    case 'os':
      return device.os;
    case 'lastSeenAt':
      return device.lastSeenAt;
    case 'createdAt':
      return device.createdAt;
  }
}

/*
 * The cursor is where the previous page ended, opaque to clients: base64url of JSON
 * {s: sort, o: order, k: the last row's sort key (ISO string for dates, null when it had none),
 * i: its RustDesk id}. It names its sort and order so that it is refused with any other (a position
 * in one order means nothing in another) instead of silently skipping or repeating devices.
 */
const cursorSchema = z.strictObject({
  s: z.string(),
  o: z.enum(['asc', 'desc']),
  k: z.string().max(255).nullable(),
  i: deviceIdSchema,
});
const DATE_SORTS: ReadonlySet<DeviceSortKey> = new Set(['lastSeenAt', 'createdAt']);

function encodeCursor(sort: DeviceSortKey, order: 'asc' | 'desc', position: DeviceListPosition): string {
  const key = position.key instanceof Date ? position.key.toISOString() : position.key;
  return Buffer.from(JSON.stringify({ s: sort, o: order, k: key, i: position.rustdeskId }), 'utf8').toString(
    'base64url',
  );
}

function decodeCursor(cursor: string, sort: DeviceSortKey, order: 'asc' | 'desc'): DeviceListPosition {
  let parsed: z.infer<typeof cursorSchema>;
  try {
    parsed = cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new BadRequestException(['cursor: invalid cursor']);
  }
  if (parsed.s !== sort || parsed.o !== order) {
    throw new BadRequestException([
      `cursor: belongs to sort=${parsed.s}&order=${parsed.o}, not sort=${sort}&order=${order}; start again without it`,
    ]);
  }
  if (parsed.k === null) {
    if (sort === 'rustdeskId' || sort === 'createdAt')
      throw new BadRequestException(['cursor: invalid cursor']);
    return { key: null, rustdeskId: parsed.i };
  }
  if (DATE_SORTS.has(sort)) {
    const date = new Date(parsed.k);
    if (Number.isNaN(date.getTime())) throw new BadRequestException(['cursor: invalid cursor']);
    return { key: date, rustdeskId: parsed.i };
  }
  return { key: parsed.k, rustdeskId: parsed.i };
}
