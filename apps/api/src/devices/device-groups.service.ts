import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { DeviceAdminRepository, DeviceGroupNameTakenError } from '@switchboard/data-access';

import { auditActorOf } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { DatabaseConnection } from '../database/database.connection';
import { type DeviceGroupView, deviceGroupView } from './device-view';
import { type CreateDeviceGroupBody } from './devices.dto';
import { type Actor } from './devices.service';

/** Device groups are created explicitly (a typo in PATCH must not create a new group). */
@Injectable()
export class DeviceGroupsService {
  private readonly devices: DeviceAdminRepository;

  constructor(
    private readonly changes: ChangeRunner,
    database: DatabaseConnection,
  ) {
    this.devices = new DeviceAdminRepository(database.client);
  }

  async list(): Promise<DeviceGroupView[]> {
    return (await this.devices.listGroups()).map(deviceGroupView);
  }

  async create(body: CreateDeviceGroupBody, actor: Actor): Promise<DeviceGroupView> {
    try {
      return await this.changes.run(async (tx) => {
        const group = await new DeviceAdminRepository(tx).createGroup(body.name, body.note ?? null);
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
    await this.changes.run(async (tx) => {
      const group = await new DeviceAdminRepository(tx).deleteGroup(id);
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
