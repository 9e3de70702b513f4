import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DeviceAdminRepository, DeviceGroupNameTakenError } from '@switchboard/data-access';

import { auditActorOf } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { type DeviceGroupView, deviceGroupView } from './device-view';
import { type CreateDeviceGroupBody } from './devices.dto';
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
}
