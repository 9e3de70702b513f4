import { Inject, Injectable } from '@nestjs/common';
import { type DeviceSyncIdentity, DeviceSyncRepository } from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';

/**
 * How long a device's identity is served from memory. Longer than the client's 15 s heartbeat
 * interval, or nearly every heartbeat would miss; short enough that a ban or a new owner made on
 * another replica reaches heartbeats within a minute (signal and the relays enforce bans at once;
 * the heartbeat only decides what strategy to push).
 */
export const IDENTITY_TTL_MS = 60_000;
/** Devices held at most; the oldest entry goes first beyond it. */
export const IDENTITY_CACHE_LIMIT = 200_000;

/**
 * Device identities (uuid, owner, group, state, sysinfo fingerprint) for the heartbeat, cached so
 * a heartbeat usually costs no query. This replica drops an entry when it changes the device
 * (sysinfo, assignment); a change made elsewhere (an operator's ban, a new owner) shows within the
 * TTL. An unknown id is not cached: signal may write the row a moment later.
 */
@Injectable()
export class SyncIdentities {
  private readonly entries = new Map<string, { identity: DeviceSyncIdentity; expiresAt: number }>();

  constructor(
    @Inject(DeviceSyncRepository) private readonly devices: Repositories['deviceSync'],
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async find(rustdeskId: string): Promise<DeviceSyncIdentity | null> {
    const now = this.clock.now().getTime();
    const cached = this.entries.get(rustdeskId);
    if (cached !== undefined && now < cached.expiresAt) return cached.identity;
    const identity = await this.devices.findIdentity(rustdeskId);
    this.entries.delete(rustdeskId);
    if (identity === null) return null;
    if (this.entries.size >= IDENTITY_CACHE_LIMIT) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    // Spread over the last quarter of the TTL, so a fleet that started together does not expire together.
    const expiresAt = now + IDENTITY_TTL_MS * (0.75 + Math.random() * 0.25);
    this.entries.set(rustdeskId, { identity, expiresAt });
    return identity;
  }

  forget(rustdeskId: string): void {
    this.entries.delete(rustdeskId);
  }
}
