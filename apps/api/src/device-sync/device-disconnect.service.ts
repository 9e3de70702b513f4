import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';

import { API_CLOCK } from '../app.tokens';
import { auditActorOf, eventActorOf } from '../auth/principal';
import { ChangeRunner, type Changes } from '../changes/change-runner';
import { type Actor } from '../auth/principal';
import { type Clock } from '../time/clock';
import { DISCONNECT_EXPIRY_MS, PendingDisconnects } from './pending-disconnects';

/** An operator ending a session: stored for the device's next heartbeat, audited in the chain. */
@Injectable()
export class DeviceDisconnectService {
  constructor(
    @Inject(ChangeRunner) private readonly changes: Changes,
    private readonly pending: PendingDisconnects,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async request(rustdeskId: string, connId: number, actor: Actor): Promise<void> {
    await this.changes.run(async ({ devices, deviceSync }) => {
      const device = await devices.lock(rustdeskId);
      if (device === null) throw new NotFoundException('Device not found');
      if (device.deleted) throw new ConflictException('Device is deleted');
      const at = this.clock.now();
      await deviceSync.requestDisconnect({
        deviceRowId: device.rowId,
        connId,
        requestedBy: eventActorOf(actor.principal),
        at,
        expiresAt: new Date(at.getTime() + DISCONNECT_EXPIRY_MS),
      });
      return {
        result: undefined,
        audit: [
          {
            ...auditActorOf(actor.principal),
            action: 'device.disconnect',
            targetType: 'device',
            targetId: rustdeskId,
            ip: actor.origin.ip,
            details: { connId, userAgent: actor.origin.userAgent },
          },
        ],
      };
    });
    this.pending.invalidate();
  }
}
