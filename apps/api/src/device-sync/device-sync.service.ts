import { createHash } from 'node:crypto';

import { ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { type DeviceSyncIdentity, DeviceSyncRepository, type SysinfoWrite } from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { ChangeRunner, type Changes } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { EffectiveStrategies } from '../strategies/effective-strategies';
import { type Clock } from '../time/clock';
import { assignmentDetails, type AssignmentRequest, DeviceAssignments } from './device-assignments';
import { type HeartbeatBody, type SysinfoBody } from './device-sync.dto';
import { uuidMatches } from './device-uuid';
import { HeartbeatWriteBehind } from './heartbeat-write-behind';
import { PendingDisconnects } from './pending-disconnects';
import { SyncIdentities } from './sync-identities';

/**
 * The plain-text answers of POST /api/sysinfo (src/hbbs_http/sync.rs). The client treats
 * `SYSINFO_UPDATED` as done and `ID_NOT_FOUND` as "try again on the next 3 s tick"; any other text
 * makes it wait 120 s, which is what a refusal should cause.
 */
export type SysinfoAnswer = 'SYSINFO_UPDATED' | 'ID_NOT_FOUND' | 'UUID_MISMATCH' | 'DEVICE_NOT_ALLOWED';

export interface HeartbeatReply {
  modified_at: number;
  strategy?: { config_options: Record<string, string>; extra: Record<string, string> };
  disconnect?: number[];
  sysinfo?: true;
}

// Column limits of devices (prisma/schema.prisma): longer reports are cut, not refused, since a
// refusal would only make the client resend the same text every two minutes.
const LIMITS = { cpu: 255, memory: 64, os: 255, hostname: 255, osUsername: 255, version: 64 } as const;

/**
 * Device sync for the RustDesk client (docs/client-api.md §6). No Authorization: a device proves
 * itself with the uuid it registered with signal. Banned, deleted, revoked and rejected devices are
 * refused; a pending device is served (it may be approved any moment).
 */
@Injectable()
export class DeviceSyncService {
  constructor(
    @Inject(DeviceSyncRepository) private readonly devices: Repositories['deviceSync'],
    @Inject(ChangeRunner) private readonly changes: Changes,
    private readonly identities: SyncIdentities,
    private readonly writeBehind: HeartbeatWriteBehind,
    private readonly disconnects: PendingDisconnects,
    private readonly strategies: EffectiveStrategies,
    private readonly assignments: DeviceAssignments,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  /** Stores the report (and applies its presets) unless it is what is stored already. */
  async storeSysinfo(body: SysinfoBody): Promise<SysinfoAnswer> {
    const identity = await this.devices.findIdentity(body.id);
    const refusal = refusalOf(identity, body.uuid);
    if (refusal !== null || identity === null) return refusal ?? 'ID_NOT_FOUND';
    const sysinfo = sysinfoOf(body);
    const presets = presetsOf(body);
    const hash = sysinfoHash(sysinfo, presets);
    if (hash === identity.sysinfoHash) return 'SYSINFO_UPDATED';

    const at = this.clock.now();
    if (Object.keys(presets).length === 0) {
      await this.devices.storeSysinfo(identity.rowId, sysinfo, hash, at);
    } else {
      await this.changes.run(async (repositories) => {
        const device = await repositories.deviceSync.lockAssignee(body.id);
        if (device === null) return { result: undefined, audit: [] };
        const outcomes = await this.assignments.apply(repositories, device, presets, 'fill');
        await repositories.deviceSync.storeSysinfo(identity.rowId, sysinfo, hash, at);
        const changed = outcomes.some((outcome) => outcome.status === 'assigned');
        const audit = changed
          ? [
              {
                actorType: 'device',
                actorId: body.id,
                action: 'device.assign',
                targetType: 'device',
                targetId: body.id,
                ip: null,
                details: { source: 'sysinfo-preset', ...assignmentDetails(outcomes) },
              },
            ]
          : [];
        return { result: undefined, audit };
      });
      this.strategies.invalidate();
    }
    this.identities.forget(body.id);
    return 'SYSINFO_UPDATED';
  }

  /** The stored sysinfo's fingerprint for a device that names itself; "" otherwise. */
  async sysinfoVersion(id: string | undefined, uuid: string | undefined): Promise<string> {
    if (id === undefined || uuid === undefined) return '';
    const identity = await this.identities.find(id);
    return refusalOf(identity, uuid) === null ? (identity?.sysinfoHash ?? '') : '';
  }

  async heartbeat(body: HeartbeatBody): Promise<HeartbeatReply> {
    const identity = await this.identities.find(body.id);
    const refusal = refusalOf(identity, body.uuid);
    if (identity === null || refusal === 'ID_NOT_FOUND') throw new NotFoundException('ID_NOT_FOUND');
    if (refusal !== null) throw new ForbiddenException(refusal);

    this.writeBehind.record({
      deviceRowId: identity.rowId,
      at: this.clock.now(),
      conns: body.conns ?? [],
      clientVersion: body.ver === undefined ? null : BigInt(body.ver),
    });
    const [strategy, disconnect] = await Promise.all([
      this.strategies.for(identity),
      this.disconnects.take(identity.rowId),
    ]);
    const reply: HeartbeatReply = { modified_at: strategy?.modifiedAt ?? 0 };
    if (strategy !== null && String(strategy.modifiedAt) !== body.modified_at) {
      reply.strategy = { config_options: { ...strategy.options }, extra: {} };
    }
    if (disconnect.length > 0) reply.disconnect = disconnect;
    if (identity.sysinfoHash === null) reply.sysinfo = true;
    return reply;
  }
}

/** Why a device may not sync, or null when it may. */
export function refusalOf(identity: DeviceSyncIdentity | null, uuid: string): SysinfoAnswer | null {
  if (identity === null) return 'ID_NOT_FOUND';
  if (!uuidMatches(identity.uuid, uuid)) return 'UUID_MISMATCH';
  if (identity.banned || identity.deleted || identity.revoked || identity.admission === 'rejected')
    return 'DEVICE_NOT_ALLOWED';
  return null;
}

function sysinfoOf(body: SysinfoBody): SysinfoWrite {
  const cut = (value: string | undefined, limit: number): string | null =>
    value === undefined ? null : value.slice(0, limit);
  return {
    cpu: cut(body.cpu, LIMITS.cpu),
    memory: cut(body.memory, LIMITS.memory),
    os: cut(body.os, LIMITS.os),
    hostname: cut(body.hostname, LIMITS.hostname),
    osUsername: cut(body.username, LIMITS.osUsername),
    version: cut(body.version, LIMITS.version),
  };
}

/** The sysinfo `preset-*` keys as an assignment (the client sends only non-empty ones). */
function presetsOf(body: SysinfoBody): AssignmentRequest {
  const present = (value: string | undefined): string | undefined =>
    value === undefined || value === '' ? undefined : value;
  const addressBookName = present(body['preset-address-book-name']);
  const request: AssignmentRequest = {
    userName: present(body['preset-user-name']),
    strategyName: present(body['preset-strategy-name']),
    deviceGroupName: present(body['preset-device-group-name']),
    note: present(body['preset-note']),
    addressBook:
      addressBookName === undefined
        ? undefined
        : {
            name: addressBookName,
            tag: present(body['preset-address-book-tag']),
            alias: present(body['preset-address-book-alias']),
            password: present(body['preset-address-book-password']),
            note: present(body['preset-address-book-note']),
          },
  };
  return Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined));
}

/** The fingerprint of a report; the address-book password stays out of it (it is stored, unsalted). */
function sysinfoHash(sysinfo: SysinfoWrite, presets: AssignmentRequest): string {
  const { addressBook, ...rest } = presets;
  const book =
    addressBook === undefined ? null : { ...addressBook, password: addressBook.password !== undefined };
  return createHash('sha256')
    .update(JSON.stringify([sysinfo, rest, book]))
    .digest('hex');
}
