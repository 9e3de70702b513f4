import { Inject, Injectable } from '@nestjs/common';
import { DeviceSyncRepository } from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';

/** How long a replica trusts its list of devices with pending disconnects. */
export const PENDING_SNAPSHOT_TTL_MS = 1_000;
/** An undelivered disconnect is dropped after this: the connection is gone or the device offline. */
export const DISCONNECT_EXPIRY_MS = 120_000;

/**
 * Connections operators ended, waiting for their device's next heartbeat. Each replica keeps the set
 * of devices with anything pending (one query per second at most, whatever the heartbeat rate), so
 * only a device in that set costs a query: the claim, one UPDATE … RETURNING that marks the rows
 * delivered, which one replica wins, so each disconnect is handed out once.
 */
@Injectable()
export class PendingDisconnects {
  private pending: { devices: ReadonlySet<string>; loadedAt: number } | undefined;
  private loading: Promise<ReadonlySet<string>> | undefined;

  constructor(
    @Inject(DeviceSyncRepository) private readonly devices: Repositories['deviceSync'],
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  /** The conn ids to hand to this device now (marked delivered), or none. */
  async take(deviceRowId: string): Promise<number[]> {
    const devices = await this.devicesWithPending();
    if (!devices.has(deviceRowId)) return [];
    return this.devices.claimDisconnects(deviceRowId, this.clock.now());
  }

  /** After a request on this replica: reload before the next heartbeat looks. */
  invalidate(): void {
    this.pending = undefined;
    this.loading = undefined;
  }

  private async devicesWithPending(): Promise<ReadonlySet<string>> {
    const now = this.clock.now().getTime();
    if (this.pending !== undefined && now - this.pending.loadedAt < PENDING_SNAPSHOT_TTL_MS) {
      return this.pending.devices;
    }
    if (this.loading !== undefined) return this.loading;
    const loading = this.devices.devicesWithPendingDisconnects(new Date(now)).then((rows) => {
      const devices = new Set(rows);
      if (this.loading === loading) this.pending = { devices, loadedAt: now };
      return devices;
    });
    this.loading = loading;
    const clear = (): void => {
      if (this.loading === loading) this.loading = undefined;
    };
    loading.then(clear, clear);
    return loading;
  }
}
