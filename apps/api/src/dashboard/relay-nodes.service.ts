import { Inject, Injectable } from '@nestjs/common';
import { type Logger } from '@switchboard/observability';
import {
  RelayNodeDirectory,
  type RelayRecordKey,
  registryKeys,
  resolveRelayRecordKey,
} from '@switchboard/relay-registry';

import { API_CLOCK, API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { RedisConnection } from '../redis/redis.connection';
import { type Clock } from '../time/clock';
import { type RelayNodesView } from './dashboard.dto';

/** How often a missing registry key is looked for again (the bootstrap may run after the api starts). */
const KEY_LOOK_AGAIN_MS = 60_000;

/**
 * The relay nodes announced right now, read from the registry signal picks from (libs/relay-registry).
 * Records are believed only with a valid MAC, as signal believes them: a record someone else wrote
 * into Redis is counted as malformed, not shown as a relay.
 */
@Injectable()
export class RelayNodesService {
  private directory: RelayNodeDirectory | undefined;
  private keyProblem = 'relay registry key not loaded yet';
  private nextKeyLookAt = 0;
  private readonly log: Logger;

  constructor(
    private readonly redis: RedisConnection,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'relay-nodes' });
  }

  async list(): Promise<RelayNodesView> {
    const directory = await this.loadDirectory();
    if (directory === undefined) return unavailable(this.keyProblem);
    let listing;
    try {
      listing = await directory.list();
    } catch (error) {
      this.log.warn({ err: error }, 'relay registry unreadable');
      return unavailable('Redis could not be read');
    }
    const nodes = listing.nodes
      .map(({ record, remainingMs }) => ({
        nodeId: record.nodeId,
        address: record.address,
        wsAddress: record.wsAddress ?? null,
        sessions: record.sessions,
        capacity: record.capacity,
        load: record.sessions / record.capacity,
        bytesPerSecond: record.bytesPerSecond,
        draining: record.draining,
        lastHeartbeatAt: new Date(record.updatedAt).toISOString(),
        expiresInMs: remainingMs,
      }))
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    return { available: true, problem: null, nodes, malformed: listing.malformed.length };
  }

  private async loadDirectory(): Promise<RelayNodeDirectory | undefined> {
    if (this.directory !== undefined) return this.directory;
    const now = this.clock.now().getTime();
    if (now < this.nextKeyLookAt) return undefined;
    this.nextKeyLookAt = now + KEY_LOOK_AGAIN_MS;
    let key: RelayRecordKey;
    try {
      key = (await resolveRelayRecordKey(this.config)).key;
    } catch (error) {
      this.keyProblem = `relay registry key unavailable: ${(error as Error).message}`;
      this.log.warn({ err: error }, 'relay registry key unavailable: the dashboard cannot list relays');
      return undefined;
    }
    this.directory = new RelayNodeDirectory(
      this.redis.client,
      registryKeys(`${this.config.REDIS_KEY_PREFIX}:relay`),
      key,
    );
    return this.directory;
  }
}

function unavailable(problem: string): RelayNodesView {
  return { available: false, problem, nodes: [], malformed: 0 };
}
