import { type EventSubscriber, type ResyncReason } from '@switchboard/events';
import { Gauge, type Logger, type Registry } from '@switchboard/observability';

import { type DeviceAccess } from '../ports';

/** Where the durable deny set is read (libs/relay-registry RelayAccessLists). */
export interface DeniedDeviceStore {
  deniedDevices(): Promise<Set<string>>;
  isDeviceDenied(deviceId: string): Promise<boolean>;
}

export type DeniedListener = (deviceIds: readonly string[]) => void;

export interface DeviceDenyListOptions {
  readonly store: DeniedDeviceStore;
  readonly events: EventSubscriber;
  readonly logger: Logger;
  readonly registry?: Registry;
}

/**
 * The relay's in-memory copy of the deny set (docs/architecture.md "Ban / revoke"), so a check never
 * waits on Redis. It is reloaded in full from the Redis set on every resync of the event stream
 * (start, gap, reconnect); in between, ban, revoke and delete events add to it at once and tell the
 * listeners, which close every live session carrying those devices.
 */
export class DeviceDenyList implements DeviceAccess {
  private denied = new Set<string>();
  private readonly listeners: DeniedListener[] = [];
  private readonly unsubscribes: Array<() => void>;
  private readonly logger: Logger;

  constructor(private readonly options: DeviceDenyListOptions) {
    this.logger = options.logger.child({ component: 'deny-list' });
    if (options.registry) {
      const denied = () => this.denied.size;
      new Gauge({
        name: 'switchboard_relay_denied_devices',
        help: 'Devices in the deny set (banned, revoked, soft-deleted)',
        registers: [options.registry],
        collect() {
          this.set(denied());
        },
      });
    }
    const { events } = options;
    // Registered before the subscriber starts, so no event can slip past.
    this.unsubscribes = [
      events.onResync((reason) => this.reload(reason)),
      events.on('DeviceBanned', ({ payload }) => this.deny([payload.deviceId])),
      events.on('DeviceRevoked', ({ payload }) => this.deny([payload.deviceId, ...payload.cascade])),
      events.on('DeviceDeleted', async ({ payload }) => {
        if (!payload.hard) return this.deny([payload.deviceId]);
        // What it carries now goes; whether the id is free again is the set's word (the api removed it
        // before publishing), never the event's alone.
        this.notify([payload.deviceId]);
        await this.recheck(payload.deviceId);
      }),
      events.on('DeviceUnbanned', ({ payload }) => this.recheck(payload.deviceId)),
      events.on('DeviceIdChanged', async ({ payload }) => {
        if (!this.denied.has(payload.oldDeviceId)) return;
        // The denial follows the device at once; the old id is freed only as the set shows.
        this.denied.add(payload.newDeviceId);
        await this.recheck(payload.oldDeviceId);
      }),
    ];
  }

  get size(): number {
    return this.denied.size;
  }

  isDenied(deviceId: string): boolean {
    return this.denied.has(deviceId);
  }

  onDenied(listener: DeniedListener): void {
    this.listeners.push(listener);
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
  }

  private deny(deviceIds: readonly string[]): void {
    for (const id of deviceIds) this.denied.add(id);
    this.notify(deviceIds);
  }

  /** Unbanned is not allowed: it may still be revoked or deleted, which only the durable set knows. */
  private async recheck(deviceId: string): Promise<void> {
    if (!this.denied.has(deviceId)) return;
    // A Redis failure throws out of the handler (the bus logs it): the device stays denied until the next resync.
    if (!(await this.options.store.isDeviceDenied(deviceId))) this.denied.delete(deviceId);
  }

  private async reload(reason: ResyncReason): Promise<void> {
    const fresh = await this.options.store.deniedDevices();
    const added = [...fresh].filter((id) => !this.denied.has(id));
    this.denied = fresh;
    this.logger.info({ reason, denied: fresh.size, added: added.length }, 'deny set reloaded');
    // Bans published while we were not listening: their sessions go now.
    if (added.length > 0) this.notify(added);
  }

  private notify(deviceIds: readonly string[]): void {
    for (const listener of this.listeners) listener(deviceIds);
  }
}
