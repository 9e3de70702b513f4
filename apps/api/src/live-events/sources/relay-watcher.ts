import { Inject, Injectable } from '@nestjs/common';
import { type Logger } from '@switchboard/observability';
import {
  type ListedRelayNode,
  RelayNodeDirectory,
  type RelayRecordKey,
  registryKeys,
  resolveRelayRecordKey,
} from '@switchboard/relay-registry';

import { API_CONFIG, API_LOGGER } from '../../app.tokens';
import { type ApiConfig } from '../../config';
import { RedisConnection } from '../../redis/redis.connection';
import { LiveHub } from '../live-hub';
import { type RelayNodeSummary } from '../live-message';
import { LiveMetrics } from '../live-metrics';
import { PollingSource } from '../polling-source';

/** Bytes per second are rounded to this, so a steady load does not announce a change every poll. */
const RATE_STEP = 1024;

/**
 * relay.changed: the live relay nodes as the registry lists them (records MACed with the registry key
 * signal and the relays share, so one written straight into Redis is not shown; the api reads the key
 * the bootstrap made). A new list is sent when a node joins, leaves, starts draining or its load moves.
 * Without the key this source stays idle: consoles then get no relay frames.
 */
@Injectable()
export class RelayWatcher extends PollingSource {
  private directory: RelayNodeDirectory | null | undefined;
  private last = '';

  constructor(
    private readonly redis: RedisConnection,
    private readonly hub: LiveHub,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
    metrics: LiveMetrics,
  ) {
    super({
      name: 'relays',
      intervalMs: config.LIVE_RELAY_POLL_MS,
      log: logger.child({ component: 'live' }),
      metrics,
    });
    hub.addSource(this);
  }

  protected async baseline(): Promise<void> {
    const directory = await this.openDirectory();
    this.last = directory === null ? '' : JSON.stringify(summarise((await directory.list()).nodes));
  }

  protected async poll(): Promise<void> {
    const directory = await this.openDirectory();
    if (directory === null) return;
    const nodes = summarise((await directory.list()).nodes);
    const text = JSON.stringify(nodes);
    if (text === this.last) return;
    this.last = text;
    this.hub.send('relay.changed', { nodes });
  }

  protected recovered(): void {
    this.hub.send('resync', { reason: 'source-recovered', scope: ['relays'] });
  }

  /** The directory, once the key is read; null (and logged once) when there is no key to read. */
  private async openDirectory(): Promise<RelayNodeDirectory | null> {
    if (this.directory !== undefined) return this.directory;
    let key: RelayRecordKey;
    try {
      key = (await resolveRelayRecordKey(this.config)).key;
    } catch (error) {
      this.log.warn(
        { err: error },
        'live stream sends no relay.changed: set RELAY_REGISTRY_KEY or RELAY_REGISTRY_KEY_FILE',
      );
      this.directory = null;
      return null;
    }
    const keys = registryKeys(`${this.config.REDIS_KEY_PREFIX}:relay`);
    this.directory = new RelayNodeDirectory(this.redis.client, keys, key);
    return this.directory;
  }
}

export function summarise(nodes: readonly ListedRelayNode[]): RelayNodeSummary[] {
  return nodes
    .map(({ record }) => ({
      nodeId: record.nodeId,
      address: record.address,
      sessions: record.sessions,
      capacity: record.capacity,
      bytesPerSecond: Math.round(record.bytesPerSecond / RATE_STEP) * RATE_STEP,
      draining: record.draining,
    }))
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
}
