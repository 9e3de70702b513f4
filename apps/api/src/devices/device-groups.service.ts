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

import { type Actor, actorAuditEntry } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { type DeviceGroupView, deviceGroupView } from './device-view';
import { type CreateDeviceGroupBody, type UpdateDeviceGroupBody } from './devices.dto';

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
          audit: [groupEntry(actor, 'device_group.create', group.id, { name: group.name })],
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
        audit: [groupEntry(actor, 'device_group.delete', group.id, { name: group.name })],
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
  return actorAuditEntry(actor, action, { type: 'device_group', id: groupId }, details);
}

/** The same entry as a PATCH of the device's group (devices.service.ts), so a device's history reads alike. */
function deviceEntry(actor: Actor, rustdeskId: string, details: JsonObject): AuditAppendInput {
  return actorAuditEntry(actor, 'device.update', { type: 'device', id: rustdeskId }, details);
}
