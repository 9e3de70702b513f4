import { type Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';

import { type MalformedRelayNode, RelayNodeDirectory } from './relay-node-directory';
import { type RelayRecordKey } from './relay-record-key';
import { type RegistryLogger, ThrottledWarning } from './registry-logger';
import { registryKeys, type RelayNodeRecord } from './registry-layout';

export interface RelayPickerOptions {
  readonly redis: Redis;
  readonly prefix?: string;
  /** RELAY_REGISTRY_KEY: records are MACed with it (relay-record-key.ts). */
  readonly recordKey: RelayRecordKey;
  /** RELAY_SERVERS: handed out in turn while no live node is registered (or Redis is unreachable). */
  readonly staticRelays?: readonly string[];
  readonly refreshMs?: number;
  readonly logger: RegistryLogger;
  readonly registry?: Registry;
  /** Monotonic milliseconds; cached records expire against it. */
  readonly clock?: () => number;
}

export const DEFAULT_PICKER_REFRESH_MS = 1_000;
const FAILURE_LOG_INTERVAL_MS = 30_000;

interface CachedNode {
  readonly record: RelayNodeRecord;
  /** On our clock: when the record lapses in Redis unless its relay refreshes it. */
  readonly expiresAt: number;
  /** Sessions handed to this node since its record last changed, which its figures cannot show yet. */
  picks: number;
}

export type PickSource = 'registry' | 'static' | 'none';

/**
 * Signal's relay choice (docs/architecture.md "Relay choice"), a RelayPickerPort of apps/signal/src/ports.ts.
 * `pick()` is synchronous over a cache that a background loop refreshes from Redis, so a slow or dead
 * Redis never delays a punch hole. When Redis stays unreachable the cached nodes lapse on their own
 * TTL, as they would in Redis, and the static list takes over.
 */
export class RelayPicker {
  private readonly directory: RelayNodeDirectory;
  private readonly staticRelays: readonly string[];
  private readonly refreshMs: number;
  private readonly clock: () => number;
  private readonly failures: ThrottledWarning;
  private readonly metrics: ReturnType<typeof createPickerMetrics> | undefined;
  private nodes = new Map<string, CachedNode>();
  /** What was last logged per malformed node, so a bad record is reported once, not every second. */
  private readonly reportedMalformed = new Map<string, string>();
  private rotation = 0;
  private staticRotation = 0;
  private refreshing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private stopped = false;

  constructor(private readonly options: RelayPickerOptions) {
    this.directory = new RelayNodeDirectory(options.redis, registryKeys(options.prefix), options.recordKey);
    this.staticRelays = [...(options.staticRelays ?? [])];
    this.refreshMs = options.refreshMs ?? DEFAULT_PICKER_REFRESH_MS;
    this.clock = options.clock ?? (() => performance.now());
    this.failures = new ThrottledWarning(
      options.logger,
      'relay registry refresh failed; picking from cached and static relays',
      FAILURE_LOG_INTERVAL_MS,
      this.clock,
    );
    this.metrics = options.registry
      ? createPickerMetrics(options.registry, () => this.liveCount())
      : undefined;
  }

  /** Loads the registry once (a failure is logged; the static list serves meanwhile), then keeps refreshing. */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.refreshing;
  }

  /** One refresh from Redis, after any already under way; never rejects. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.refreshOnce());
    return this.refreshing;
  }

  /**
   * The least loaded live node: lowest sessions/capacity, then lowest bytes/s, then in turn among
   * equals. Else the static list in turn, else '' (the client then tries the rendezvous host:21117).
   */
  pick(): string {
    const now = this.clock();
    let best: CachedNode[] = [];
    for (const node of this.nodes.values()) {
      if (node.expiresAt <= now || node.record.draining) continue;
      const order = best[0] === undefined ? -1 : compareLoad(node, best[0]);
      if (order < 0) best = [node];
      else if (order === 0) best.push(node);
    }
    const chosen = best[this.rotation % Math.max(best.length, 1)];
    if (chosen) {
      this.rotation = (this.rotation + 1) % Number.MAX_SAFE_INTEGER;
      chosen.picks += 1;
      this.metrics?.picks.inc({ source: 'registry', relay: chosen.record.nodeId });
      return chosen.record.address;
    }
    const fallback = this.staticRelays[this.staticRotation % Math.max(this.staticRelays.length, 1)];
    if (fallback !== undefined) {
      this.staticRotation = (this.staticRotation + 1) % Number.MAX_SAFE_INTEGER;
      this.metrics?.picks.inc({ source: 'static', relay: fallback });
      return fallback;
    }
    this.metrics?.picks.inc({ source: 'none', relay: '' });
    return '';
  }

  /** The nodes pick() may hand out right now (live and not draining). */
  liveNodes(): RelayNodeRecord[] {
    const now = this.clock();
    return [...this.nodes.values()]
      .filter((node) => node.expiresAt > now && !node.record.draining)
      .map((node) => node.record);
  }

  private liveCount(): number {
    return this.liveNodes().length;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.refresh().then(() => this.schedule());
    }, this.refreshMs);
    this.timer.unref();
  }

  private async refreshOnce(): Promise<void> {
    if (this.stopped) return;
    // Measured before the read, so a record's remaining TTL is never credited with the round trip.
    const startedAt = this.clock();
    let listing;
    try {
      listing = await this.directory.list();
    } catch (error) {
      this.failing = true;
      this.metrics?.refreshFailures.inc();
      this.failures.warn({ err: error });
      return;
    }
    if (this.failing) {
      this.options.logger.info({ nodes: listing.nodes.length }, 'relay registry readable again');
      this.failures.reset();
      this.failing = false;
    }
    this.reportMalformed(listing.malformed);
    const next = new Map<string, CachedNode>();
    for (const { record, remainingMs } of listing.nodes) {
      const previous = this.nodes.get(record.nodeId);
      // A new record already counts the sessions we handed out before it was written (roughly).
      const picks = previous && previous.record.updatedAt === record.updatedAt ? previous.picks : 0;
      next.set(record.nodeId, { record, expiresAt: startedAt + remainingMs, picks });
    }
    this.nodes = next;
  }

  private reportMalformed(malformed: readonly MalformedRelayNode[]): void {
    const current = new Set<string>();
    for (const entry of malformed) {
      current.add(entry.nodeId);
      const signature = `${entry.reason}\n${entry.raw ?? ''}`;
      if (this.reportedMalformed.get(entry.nodeId) === signature) continue;
      this.reportedMalformed.set(entry.nodeId, signature);
      this.options.logger.warn(
        { nodeId: entry.nodeId, reason: entry.reason, raw: entry.raw },
        'malformed relay node record skipped',
      );
    }
    for (const nodeId of this.reportedMalformed.keys()) {
      if (!current.has(nodeId)) this.reportedMalformed.delete(nodeId);
    }
    this.metrics?.malformed.set(malformed.length);
  }
}

/** Negative when `a` is less loaded than `b`. Cross-multiplied so equal ratios compare exactly equal. */
function compareLoad(a: CachedNode, b: CachedNode): number {
  const byLoad =
    (a.record.sessions + a.picks) * b.record.capacity - (b.record.sessions + b.picks) * a.record.capacity;
  if (byLoad !== 0) return byLoad;
  return a.record.bytesPerSecond - b.record.bytesPerSecond;
}

function createPickerMetrics(registry: Registry, liveCount: () => number) {
  return {
    picks: new Counter({
      name: 'switchboard_signal_relay_picks_total',
      help: 'Relay addresses handed to clients, by source (registry, static list, none) and relay (node id, or the static address)',
      labelNames: ['source', 'relay'] as const,
      registers: [registry],
    }),
    refreshFailures: new Counter({
      name: 'switchboard_signal_relay_registry_refresh_failures_total',
      help: 'Reads of the relay node registry from Redis that failed',
      registers: [registry],
    }),
    malformed: new Gauge({
      name: 'switchboard_signal_relay_registry_malformed_records',
      help: 'Relay node records skipped as malformed at the last registry read',
      registers: [registry],
    }),
    live: new Gauge({
      name: 'switchboard_signal_relay_nodes_live',
      help: 'Relay nodes that may be handed out now (live, not draining)',
      registers: [registry],
      collect() {
        this.set(liveCount());
      },
    }),
  };
}
