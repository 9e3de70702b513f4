import { type Redis } from 'ioredis';

import { RelayNodeDirectory } from './relay-node-directory';
import { type RelayRecordKey } from './relay-record-key';
import { type RegistryLogger, ThrottledWarning } from './registry-logger';
import { registryKeys, type RelayNodeRecord, relayNodeRecordSchema } from './registry-layout';

export interface RelayNodeStats {
  readonly sessions: number;
  readonly bytesPerSecond: number;
  /** Stay listed but take no new sessions (e.g. at the bandwidth cap). */
  readonly draining?: boolean;
}

export interface RelayNodeAnnouncerOptions {
  readonly redis: Redis;
  readonly prefix?: string;
  /** RELAY_REGISTRY_KEY: records are MACed with it (relay-record-key.ts). */
  readonly recordKey: RelayRecordKey;
  readonly nodeId: string;
  /** RELAY_PUBLIC_ADDR: what signal tells clients to dial. */
  readonly address: string;
  readonly wsAddress?: string;
  /** Sessions this node is sized for; signal compares sessions / capacity across nodes. */
  readonly capacity: number;
  readonly refreshMs?: number;
  /** Defaults to three refresh intervals, so one slow or lost refresh does not drop a live node. */
  readonly ttlMs?: number;
  readonly logger: RegistryLogger;
  /** Wall clock for the record's informational `updatedAt`. */
  readonly now?: () => number;
}

export const DEFAULT_ANNOUNCE_REFRESH_MS = 2_000;
const FAILURE_LOG_INTERVAL_MS = 30_000;

type AnnouncerState = 'idle' | 'announcing' | 'drained' | 'stopped';

/**
 * The relay side of the registry: keeps this node's record alive in Redis while it takes sessions.
 * Redis being down never stops the relay: failed refreshes are logged and retried on the next tick.
 */
export class RelayNodeAnnouncer {
  private readonly directory: RelayNodeDirectory;
  private readonly refreshMs: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly failures: ThrottledWarning;
  private stats: Required<RelayNodeStats> = { sessions: 0, bytesPerSecond: 0, draining: false };
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private failing = false;
  private currentState: AnnouncerState = 'idle';

  constructor(private readonly options: RelayNodeAnnouncerOptions) {
    this.refreshMs = options.refreshMs ?? DEFAULT_ANNOUNCE_REFRESH_MS;
    this.ttlMs = options.ttlMs ?? this.refreshMs * 3;
    if (!(this.refreshMs > 0) || !(this.ttlMs > this.refreshMs)) {
      throw new RangeError(`ttlMs (${this.ttlMs}) must exceed refreshMs (${this.refreshMs}) > 0`);
    }
    this.now = options.now ?? Date.now;
    this.directory = new RelayNodeDirectory(options.redis, registryKeys(options.prefix), options.recordKey);
    this.failures = new ThrottledWarning(
      options.logger,
      'relay node announce failed; retrying',
      FAILURE_LOG_INTERVAL_MS,
      () => performance.now(),
    );
    // Bad configuration fails at start, not on the first refresh.
    relayNodeRecordSchema.parse(this.record());
  }

  get state(): AnnouncerState {
    return this.currentState;
  }

  /** Publishes at once (a failure is logged, not thrown) and then every refreshMs. */
  async start(): Promise<void> {
    if (this.currentState !== 'idle') throw new Error(`announcer is ${this.currentState}`);
    this.currentState = 'announcing';
    await this.publish();
    this.schedule();
  }

  /** New figures go out with the next refresh; a change of the draining flag goes out at once. */
  update(stats: RelayNodeStats): void {
    if (!Number.isSafeInteger(stats.sessions) || stats.sessions < 0) {
      throw new RangeError(`sessions must be a non-negative integer, got ${stats.sessions}`);
    }
    if (!Number.isFinite(stats.bytesPerSecond) || stats.bytesPerSecond < 0) {
      throw new RangeError(`bytesPerSecond must be a non-negative number, got ${stats.bytesPerSecond}`);
    }
    const draining = stats.draining ?? this.stats.draining;
    const drainingChanged = draining !== this.stats.draining;
    this.stats = { sessions: stats.sessions, bytesPerSecond: stats.bytesPerSecond, draining };
    if (drainingChanged && this.currentState === 'announcing') void this.publish();
  }

  /**
   * Leaves the registry at once: signal stops handing this node out on its next refresh, while the
   * sessions it carries go on. A failure is logged; the record then lapses within ttlMs anyway.
   */
  async drain(): Promise<void> {
    if (this.currentState === 'drained') return;
    this.halt('drained');
    await this.inFlight;
    try {
      await this.directory.remove(this.options.nodeId);
      this.options.logger.info({ nodeId: this.options.nodeId }, 'relay node left the registry');
    } catch (error) {
      this.options.logger.warn(
        { err: error, nodeId: this.options.nodeId, ttlMs: this.ttlMs },
        'relay node could not leave the registry; its record lapses with its TTL',
      );
    }
  }

  /** Stops refreshing without removing the record (it lapses within ttlMs); drain() leaves at once. */
  async stop(): Promise<void> {
    if (this.currentState !== 'drained') this.halt('stopped');
    await this.inFlight;
  }

  private halt(state: 'drained' | 'stopped'): void {
    this.currentState = state;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.currentState !== 'announcing') return;
    this.timer = setTimeout(() => {
      void this.publish().then(() => this.schedule());
    }, this.refreshMs);
    // The relay's own listeners keep the process alive; this timer must not hold up its exit.
    this.timer.unref();
  }

  private publish(): Promise<void> {
    const previous = this.inFlight ?? Promise.resolve();
    // Chained so two publishes never race and drain() can wait for the last one before deleting.
    const next = previous.then(() => this.publishOnce());
    this.inFlight = next;
    return next;
  }

  private async publishOnce(): Promise<void> {
    if (this.currentState !== 'announcing') return;
    try {
      await this.directory.publish(this.record(), this.ttlMs);
      if (this.failing) {
        this.options.logger.info({ nodeId: this.options.nodeId }, 'relay node announced again');
        this.failures.reset();
      }
      this.failing = false;
    } catch (error) {
      this.failing = true;
      this.failures.warn({ err: error, nodeId: this.options.nodeId });
    }
  }

  private record(): RelayNodeRecord {
    return {
      nodeId: this.options.nodeId,
      address: this.options.address,
      ...(this.options.wsAddress === undefined ? {} : { wsAddress: this.options.wsAddress }),
      sessions: this.stats.sessions,
      bytesPerSecond: this.stats.bytesPerSecond,
      capacity: this.options.capacity,
      draining: this.stats.draining,
      updatedAt: Math.trunc(this.now()),
    };
  }
}
