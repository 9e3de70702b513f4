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
  DeviceGroupNameTakenError,
} from '@switchboard/data-access';
import { type JsonObject } from '@switchboard/audit';

import { auditActorOf } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { type DeviceGroupView, deviceGroupView } from './device-view';
import { type CreateDeviceGroupBody, type UpdateDeviceGroupBody } from './devices.dto';
import { type Actor } from './devices.service';

/** Device groups are created explicitly (a typo in PATCH must not create a new group). */
@Injectable()
export class DeviceGroupsService {
  constructor(
    @Inject(DeviceAdminRepository) private readonly devices: Repositories['devices'],
    private readonly changes: ChangeRunner,
  ) {}

  async list(): Promise<DeviceGroupView[]> {
    return (await this.devices.listGroups()).map(deviceGroupView);
  }

  async create(body: CreateDeviceGroupBody, actor: Actor): Promise<DeviceGroupView> {
    try {
      return await this.changes.run(async ({ devices }) => {
        const group = await devices.createGroup(body.name, body.note ?? null);
        return {
          result: deviceGroupView(group),
          audit: [
            {
              ...auditActorOf(actor.principal),
              action: 'device_group.create',
              targetType: 'device_group',
              targetId: group.id,
              ip: actor.origin.ip,
              details: { name: group.name, userAgent: actor.origin.userAgent },
            },
          ],
        };
      });
    } catch (error) {
      if (error instanceof DeviceGroupNameTakenError) throw new ConflictException(error.message);
      throw error;
    }
  }

  async delete(id: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ devices }) => {
      const group = await devices.deleteGroup(id);
      if (group === null) throw new NotFoundException('Device group not found');
      return {
        result: undefined,
        audit: [
          {
            ...auditActorOf(actor.principal),
            action: 'device_group.delete',
            targetType: 'device_group',
            targetId: group.id,
            ip: actor.origin.ip,
            details: { name: group.name, userAgent: actor.origin.userAgent },
          },
        ],
      };
    });
  }

  async update(id: string, body: UpdateDeviceGroupBody, actor: Actor): Promise<DeviceGroupView> {
    try {
      return await this.changes.run(async ({ deviceGroups }) => {
        const before = await deviceGroups.find(id);
        if (before === null) throw new NotFoundException('Device group not found');
        const group = await deviceGroups.update(id, { name: body.name, note: body.note });
        if (group === null) throw new NotFoundException('Device group not found');
        const changes: Record<string, JsonObject[string]> = {};
        if (body.name !== undefined) changes['name'] = { from: before.name, to: body.name };
        if (body.note !== undefined) changes['note'] = body.note;
        return {
          result: deviceGroupView(group),
          audit: [groupEntry(actor, 'device_group.update', id, { changes })],
        };
      });
    } catch (error) {
      if (error instanceof DeviceGroupNameTakenError) throw new ConflictException(error.message);
      throw error;
    }
  }

  /**
   * Puts devices in the group (moving them out of any other). All must exist and not be deleted, or
   * nothing moves. One audit entry per device, like PATCH /devices/{id} with `group`.
   */
  async addDevices(id: string, rustdeskIds: readonly string[], actor: Actor): Promise<DeviceGroupView> {
    await this.changes.run(async ({ devices, deviceGroups }) => {
      const group = await deviceGroups.find(id);
      if (group === null) throw new NotFoundException('Device group not found');
      const locked = await devices.lockMany(rustdeskIds);
      const usable = new Set(locked.filter((device) => !device.deleted).map((device) => device.rustdeskId));
      const missing = rustdeskIds.filter((rustdeskId) => !usable.has(rustdeskId));
      if (missing.length > 0)
        throw new BadRequestException([`devices: no such device: ${missing.join(', ')}`]);
      await deviceGroups.setGroupOf(
        locked.map((device) => device.rowId),
        group.id,
      );
      return {
        result: undefined,
        audit: locked.map((device) =>
          deviceEntry(actor, device.rustdeskId, { changes: { group: group.name } }),
        ),
      };
    });
    return this.view(id);
  }

  /** Takes one device out of the group (it keeps no group). */
  async removeDevice(id: string, rustdeskId: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ devices, deviceGroups }) => {
      const group = await deviceGroups.find(id);
      if (group === null) throw new NotFoundException('Device group not found');
      const device = await devices.lock(rustdeskId);
      if (device === null || (await deviceGroups.groupOf(device.rowId)) !== group.id)
        throw new NotFoundException('The device is not in this group');
      await deviceGroups.setGroupOf([device.rowId], null);
      return { result: undefined, audit: [deviceEntry(actor, rustdeskId, { changes: { group: null } })] };
    });
  }

  private async view(id: string): Promise<DeviceGroupView> {
    const group = (await this.devices.listGroups()).find((candidate) => candidate.id === id);
    if (group === undefined) throw new NotFoundException('Device group not found');
    return deviceGroupView(group);
  }
}

function groupEntry(actor: Actor, action: string, groupId: string, details: JsonObject): AuditAppendInput {
  return {
    ...auditActorOf(actor.principal),
    action,
    targetType: 'device_group',
    targetId: groupId,
    ip: actor.origin.ip,
    details: { ...details, userAgent: actor.origin.userAgent },
  };
}

/** The same entry as a PATCH of the device's group (devices.service.ts), so a device's history reads alike. */
function deviceEntry(actor: Actor, rustdeskId: string, details: JsonObject): AuditAppendInput {
  return {
    ...auditActorOf(actor.principal),
    action: 'device.update',
    targetType: 'device',
    targetId: rustdeskId,
    ip: actor.origin.ip,
    details: { ...details, userAgent: actor.origin.userAgent },
  };
}
