import { Prisma, type PrismaClient } from '../generated/prisma/client';
import { type DeviceGroupRecord, DeviceGroupNameTakenError } from '../devices/device-admin.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Device-group edits beyond create/list/delete (DeviceAdminRepository): rename, note, and moving
 * devices in and out. Moving expects the caller to hold the devices' row locks (lockMany).
 */
export class DeviceGroupRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async find(id: string): Promise<{ id: string; name: string } | null> {
    if (!UUID.test(id)) return null;
    return this.db.deviceGroup.findUnique({ where: { id }, select: { id: true, name: true } });
  }

  /** Renames or re-notes a group; null when there is none. */
  async update(
    id: string,
    change: { name?: string; note?: string | null },
  ): Promise<DeviceGroupRecord | null> {
    if (!UUID.test(id)) return null;
    try {
      const row = await this.db.deviceGroup.update({
        where: { id },
        data: change,
        include: { _count: { select: { devices: true } } },
      });
      return {
        id: row.id,
        name: row.name,
        note: row.note,
        createdAt: row.createdAt,
        devices: row._count.devices,
      };
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError) {
        if (error.code === 'P2002') throw new DeviceGroupNameTakenError(change.name ?? '');
        if (error.code === 'P2025') return null;
      }
      throw error;
    }
  }

  /** Puts devices (by row id) in a group, or out of any with null. */
  async setGroupOf(deviceRowIds: readonly string[], groupId: string | null): Promise<void> {
    if (deviceRowIds.length === 0) return;
    await this.db.device.updateMany({ where: { id: { in: [...deviceRowIds] } }, data: { groupId } });
  }

  /** The group a device (by row id) is in, or null. */
  async groupOf(deviceRowId: string): Promise<string | null> {
    const row = await this.db.device.findUnique({ where: { id: deviceRowId }, select: { groupId: true } });
    return row?.groupId ?? null;
  }
}
