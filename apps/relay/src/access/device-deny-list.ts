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
 * The relay's in-memory copy of the deny set (ARCHITECTURE.md "Ban / revoke"), so a check never
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
        name: 'relay_denied_devices',
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
      events.on('DeviceDeleted', ({ payload }) => {
        if (!payload.hard) return this.deny([payload.deviceId]);
        // A hard-deleted id is unknown again (the api removes it from the set), but what it carries now goes.
        this.denied.delete(payload.deviceId);
        this.notify([payload.deviceId]);
      }),
      events.on('DeviceUnbanned', ({ payload }) => this.recheck(payload.deviceId)),
      events.on('DeviceIdChanged', ({ payload }) => {
        if (this.denied.delete(payload.oldDeviceId)) this.denied.add(payload.newDeviceId);
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
