import { type EventSubscriber, type ResyncReason } from '@switchboard/events';
import { Gauge, type Logger, type Registry } from '@switchboard/observability';

import { type DeviceAccess } from '../ports';
import { RebuildTrust, startRefreshTimer } from './rebuild-trust';

/** Where the durable deny set is read (libs/relay-registry RelayAccessLists). */
export interface DeniedDeviceStore {
  /** The set and the id of the api's rebuild it came from (null: none since Redis lost its data). */
  deniedDevicesSnapshot(): Promise<{ rebuild: string | null; ids: Set<string> }>;
  isDeviceDenied(deviceId: string): Promise<boolean>;
}

export type DeniedListener = (deviceIds: readonly string[]) => void;

export interface DeviceDenyListOptions {
  readonly store: DeniedDeviceStore;
  readonly events: EventSubscriber;
  readonly logger: Logger;
  readonly registry?: Registry;
  /**
   * Also re-read the set this often and deny what it holds that no event announced: a set rebuilt
   * behind the event stream's back (the api, after Redis came back empty) reaches the relay so.
   * Unset: only events and resyncs.
   */
  readonly refreshMs?: number;
  /** Milliseconds, monotonic; for tests. */
  readonly clock?: () => number;
}

/** What the relay passes as refreshMs: an SSCAN of the set per relay this often. */
export const DENY_SET_REFRESH_MS = 10_000;

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
  private readonly refreshTimer: NodeJS.Timeout | undefined;
  /** Bumped by every change events or resyncs make, so a refresh that raced one is dropped. */
  private changes = 0;
  private refreshing = false;
  private readonly trust: RebuildTrust;

  constructor(private readonly options: DeviceDenyListOptions) {
    this.logger = options.logger.child({ component: 'deny-list' });
    const clock = options.clock ?? (() => performance.now());
    this.trust = new RebuildTrust(clock);
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
        this.changes += 1;
        // The denial follows the device at once; the old id is freed only as the set shows.
        this.denied.add(payload.newDeviceId);
        await this.recheck(payload.oldDeviceId);
      }),
    ];
    if (options.refreshMs !== undefined) {
      this.refreshTimer = startRefreshTimer(options.refreshMs, this.trust, clock, () => void this.refresh());
    }
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
    clearInterval(this.refreshTimer);
    for (const unsubscribe of this.unsubscribes) unsubscribe();
  }

  private deny(deviceIds: readonly string[]): void {
    this.changes += 1;
    for (const id of deviceIds) this.denied.add(id);
    this.notify(deviceIds);
  }

  /** Unbanned is not allowed: it may still be revoked or deleted, which only the durable set knows. */
  private async recheck(deviceId: string): Promise<void> {
    if (!this.denied.has(deviceId)) return;
    // A Redis failure throws out of the handler (the bus logs it): the device stays denied until the next resync.
    if (!(await this.options.store.isDeviceDenied(deviceId))) {
      this.changes += 1;
      this.denied.delete(deviceId);
    }
  }

  /**
   * Adds what the set holds that this copy lacks, and cuts those devices' sessions. It only adds:
   * lifting a denial stays with events and resyncs, which the dispatcher orders, except when the
   * copy was kept through a possible loss of the set (reload) and the api has rebuilt it since.
   * A read that an event or resync overlapped may be older than what they applied: it is dropped,
   * the next retries.
   */
  private async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    const changesBefore = this.changes;
    try {
      const snapshot = await this.options.store.deniedDevicesSnapshot();
      if (this.changes !== changesBefore) return;
      if (this.trust.rebuiltSince(snapshot.rebuild)) {
        this.replace(snapshot.ids, 'rebuilt');
        return;
      }
      const added = [...snapshot.ids].filter((id) => !this.denied.has(id));
      if (added.length === 0) return;
      for (const id of added) this.denied.add(id);
      this.logger.warn({ added: added.length }, 'deny set refresh found devices no event announced');
      this.notify(added);
    } catch (error) {
      this.logger.debug({ err: error }, 'deny set refresh failed; the next one retries');
    } finally {
      this.refreshing = false;
    }
  }

  /**
   * A full reload on every resync. After a reconnect, or when Redis holds no rebuild id, the set may
   * be empty or old (Redis restarted without its data, or from an old snapshot): the copy then keeps
   * every denial it holds and adds the set's, until the api's next rebuild shows (refresh). Trusting
   * the set there would serve banned devices until the api rebuilt it.
   */
  private async reload(reason: ResyncReason): Promise<void> {
    const snapshot = await this.options.store.deniedDevicesSnapshot();
    this.changes += 1;
    if (this.trust.trustResync(reason, snapshot.rebuild)) {
      this.replace(snapshot.ids, reason);
      return;
    }
    const added = [...snapshot.ids].filter((id) => !this.denied.has(id));
    for (const id of added) this.denied.add(id);
    this.logger.info(
      { reason, denied: this.denied.size, added: added.length, rebuild: snapshot.rebuild },
      'deny set merged, keeping held denials until the api rebuilds the set',
    );
    if (added.length > 0) this.notify(added);
  }

  private replace(fresh: Set<string>, why: ResyncReason | 'rebuilt'): void {
    const added = [...fresh].filter((id) => !this.denied.has(id));
    this.changes += 1;
    this.denied = fresh;
    this.logger.info({ reason: why, denied: fresh.size, added: added.length }, 'deny set reloaded');
    // Bans published while we were not listening: their sessions go now.
    if (added.length > 0) this.notify(added);
  }

  private notify(deviceIds: readonly string[]): void {
    for (const listener of this.listeners) listener(deviceIds);
  }
}
