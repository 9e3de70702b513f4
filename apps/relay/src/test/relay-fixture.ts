import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import { generateIdentityKeyPair } from '@switchboard/crypto';
import { EventSigningKey, RedisEventBus } from '@switchboard/events';
import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';
import {
  RelayAccessLists,
  RelayRecordKey,
  type RelayTicketInput,
  RelayTicketStore,
} from '@switchboard/relay-registry';

import { RelayNode, type RelayNodeOptions } from '../relay-node';

export const REDIS_URL = 'redis://127.0.0.1:6379';

const silent = createLogger({ name: 'relay-test', level: 'silent' });

/** What every fixture node announces and what tickets name by default. */
export const NODE_ADDRESS = '127.0.0.1:21117';

/**
 * A Redis namespace of its own for one test file, and what the other services would write into it:
 * signal's tickets, the api's events and access lists. Relay nodes started through it share it.
 */
export class RelayFixture {
  readonly prefix = `test:relay:${randomUUID()}`;
  readonly admin = new Redis(REDIS_URL);
  /** The api's key: the nodes hold only its public half. */
  readonly eventSigningKey = EventSigningKey.generate();
  /** Shared by the nodes and (in signal) the picker that reads their records. */
  readonly recordKey = RelayRecordKey.generate();
  /** The api's side: events on the same channel the nodes subscribe to. */
  readonly publisher = new RedisEventBus({
    redis: REDIS_URL,
    prefix: `${this.prefix}:events`,
    signingKey: this.eventSigningKey,
    logger: silent,
  });
  private readonly writer = new Redis(REDIS_URL, { lazyConnect: true });
  /** Signal's identity key: it signs the tickets, the nodes verify them with its public half. */
  readonly signalKey = generateIdentityKeyPair();
  /** Signal's side. */
  readonly tickets = new RelayTicketStore({
    redis: this.writer,
    prefix: `${this.prefix}:relay`,
    logger: silent,
    signingKey: this.signalKey.secretKey,
  });
  readonly lists = new RelayAccessLists({ redis: this.writer, prefix: `${this.prefix}:relay` });
  private readonly nodes: RelayNode[] = [];

  /** A started node on free loopback ports, in sync with events and announced. */
  async startNode(
    options: Partial<RelayNodeOptions> = {},
  ): Promise<{ node: RelayNode; registry: Registry; tcp: number; ws: number }> {
    const registry = options.registry ?? createMetricsRegistry({ defaultMetrics: false });
    const node = new RelayNode({
      logger: silent,
      registry,
      redisUrl: REDIS_URL,
      redisPrefix: this.prefix,
      licenceKey: undefined,
      eventVerifyKey: this.eventSigningKey.verifyKey,
      recordKey: this.recordKey,
      signalPublicKey: this.signalKey.publicKey,
      strict: true,
      ports: { host: '127.0.0.1', port: 0, wsPort: 0 },
      listFiles: { blocklist: new Set(), blacklist: new Set() },
      announce: {
        nodeId: `node-${this.nodes.length + 1}`,
        address: NODE_ADDRESS,
        capacity: 100,
        refreshMs: 100,
      },
      ...options,
      // Unticketed uuids are refused after this short wait rather than hbbr-like seconds.
      limits: { ticketWaitMs: 300, ...options.limits },
    });
    this.nodes.push(node);
    const { tcp, ws } = await node.start();
    await node.whenReady();
    return { node, registry, tcp: tcp.port, ws: ws.port };
  }

  /**
   * Issues a ticket as signal does and waits until it is stored: by default for this node, with both
   * ends on loopback (where the test clients connect from).
   */
  async ticket(
    uuid: string,
    peers: readonly string[] = ['111111111', '222222222'],
    overrides: Partial<RelayTicketInput> = {},
  ): Promise<void> {
    this.tickets.issue({
      uuid,
      peers,
      relay: NODE_ADDRESS,
      requesterIp: '127.0.0.1',
      answererIp: '127.0.0.1',
      ...overrides,
    });
    await this.tickets.flush();
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.splice(0).map((node) => node.stop(0)));
    await this.publisher.stop();
    this.writer.disconnect();
    const keys = await this.admin.keys(`${this.prefix}:*`);
    if (keys.length > 0) await this.admin.del(...keys);
    await this.admin.quit();
  }
}
