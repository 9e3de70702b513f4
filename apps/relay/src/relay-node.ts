import { type Redis } from 'ioredis';

import { type AuditSink } from '@switchboard/audit-queue';
import { type EventVerifyKey, RedisEventBus, ServiceHealthReporter } from '@switchboard/events';
import { type Logger, type Registry } from '@switchboard/observability';
import {
  RelayAccessLists,
  RelayNodeAnnouncer,
  type RelayIpList,
  type RelayRecordKey,
  RelayTicketStore,
} from '@switchboard/relay-registry';
import { type ListenerTlsMode, TlsListenerMetrics, type TlsCredentials } from '@switchboard/tls';
import {
  AllowedOrigins,
  createRedisClient,
  DEFAULT_IPV6_PREFIX_LENGTH,
  TrustedProxies,
} from '@switchboard/transport';

import { DENY_SET_REFRESH_MS, DeviceDenyList } from './access/device-deny-list';
import { IpAccessLists } from './access/ip-access-lists';
import { ListFileWatcher } from './access/list-file-watcher';
import { type BandwidthLimits } from './bandwidth';
import { NodeLoadReporter, webSocketAddressOf } from './node-load-reporter';
import { DEFAULT_RELAY_LIMITS, RelayCore, type RelayLimits } from './relay-core';
import { createRelayNodeMetrics } from './relay-metrics';
import { type RelayAddresses, type RelayPorts, RelayServer } from './server';

export interface RelayNodeOptions {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly redisUrl: string;
  /** Events on `<prefix>:events`; registry, tickets and access lists under `<prefix>:relay`. */
  readonly redisPrefix: string;
  readonly licenceKey: string | undefined;
  /** The api's public key: events it did not sign are dropped. */
  readonly eventVerifyKey: EventVerifyKey;
  /** Shared with signal: MACs this node's registry record. */
  readonly recordKey: RelayRecordKey;
  /** Verifies signal's tickets; required in strict mode. */
  readonly signalPublicKey: Uint8Array | undefined;
  readonly strict: boolean;
  /** RELAY_TICKET_IP_CHECK (default on) and RATE_LIMIT_IPV6_PREFIX (default 64). */
  readonly ticketIpCheck?: boolean;
  readonly ipv6PrefixLength?: number;
  readonly ports: RelayPorts;
  /** What blocklist.txt and blacklist.txt held at start. */
  readonly listFiles: Readonly<Record<RelayIpList, ReadonlySet<string>>>;
  /** RELAY_LISTS_DIR, watched for edits of those files while running; none: read at start only. */
  readonly listsDir?: string;
  /** How often the list files are checked for edits. */
  readonly listsReloadMs?: number;
  readonly limits?: Partial<RelayLimits>;
  readonly bandwidth?: Partial<BandwidthLimits>;
  readonly upgradeTimeoutMs?: number;
  /** Ban cuts and refused sessions, for the audit chain. */
  readonly audit?: AuditSink;
  /** TRUSTED_PROXIES: IPs or CIDR ranges whose forwarding headers are believed on the WebSocket port. */
  readonly trustedProxies?: readonly string[];
  /** TRUST_X_REAL_IP: believe those proxies' X-Real-IP before X-Forwarded-For. */
  readonly trustRealIpHeader?: boolean;
  /** WS_ALLOWED_ORIGINS: browser origins allowed on the WebSocket port; empty or absent allows any. */
  readonly allowedOrigins?: readonly string[];
  /** TLS on the two ports; both plain when absent. */
  readonly tls?: {
    readonly tcpMode: ListenerTlsMode;
    readonly wsMode: ListenerTlsMode;
    readonly credentials: TlsCredentials | undefined;
    readonly handshakeTimeoutMs: number;
    readonly maxPendingHandshakes: number;
  };
  readonly announce: {
    readonly nodeId: string;
    /** RELAY_PUBLIC_ADDR. */
    readonly address: string;
    readonly capacity: number;
    readonly refreshMs?: number;
    /** RELAY_ALIASES: other names clients dial for this node, honoured in tickets. */
    readonly aliases?: readonly string[];
  };
}

const DEFAULT_REFRESH_MS = 2_000;
const DEFAULT_LISTS_RELOAD_MS = 5_000;

/**
 * One relay node wired to Redis: the core and its listeners, the deny set and IP lists kept in sync
 * by the event stream, tickets, and this node's record in the registry. main.ts runs one; tests run
 * several in one process, each under its own Redis prefix.
 */
export class RelayNode {
  readonly core: RelayCore;
  private readonly server: RelayServer;
  private readonly redis: Redis;
  private readonly events: RedisEventBus;
  private readonly denyList: DeviceDenyList;
  private readonly ipLists: IpAccessLists;
  private readonly announcer: RelayNodeAnnouncer;
  private readonly load: NodeLoadReporter;
  /** This node's event health for the operators' dashboard (libs/events service-health.ts). */
  private readonly health: ServiceHealthReporter;
  private readonly listFiles: ListFileWatcher | undefined;
  private readonly logger: Logger;
  private announced: Promise<void> | undefined;

  constructor(options: RelayNodeOptions) {
    const { logger, registry } = options;
    this.logger = logger;
    // Every pairing reads and then deletes a ticket; under a burst of pairings, batch those reads.
    this.redis = createRedisClient(options.redisUrl, logger, { autoPipelining: true });
    const prefix = `${options.redisPrefix}:relay`;
    this.events = new RedisEventBus({
      redis: options.redisUrl,
      prefix: `${options.redisPrefix}:events`,
      verifyKey: options.eventVerifyKey,
      logger: logger.child({ component: 'events' }),
      registry,
    });
    const accessLists = new RelayAccessLists({ redis: this.redis, prefix });
    // Both register their event handlers here, before the subscriber starts.
    this.denyList = new DeviceDenyList({
      store: accessLists,
      events: this.events,
      logger,
      registry,
      refreshMs: DENY_SET_REFRESH_MS,
    });
    this.ipLists = new IpAccessLists({
      files: options.listFiles,
      store: accessLists,
      events: this.events,
      logger,
      registry,
      refreshMs: DENY_SET_REFRESH_MS,
    });
    this.core = new RelayCore({
      logger,
      registry,
      licenceKey: options.licenceKey,
      strict: options.strict,
      tickets:
        options.signalPublicKey === undefined
          ? undefined
          : new RelayTicketStore({
              redis: this.redis,
              prefix,
              logger,
              registry,
              verifyKey: options.signalPublicKey,
            }),
      ticketPolicy: {
        addresses: [options.announce.address, ...(options.announce.aliases ?? [])],
        checkIp: options.ticketIpCheck ?? true,
        ipv6PrefixLength: options.ipv6PrefixLength ?? DEFAULT_IPV6_PREFIX_LENGTH,
      },
      devices: this.denyList,
      ips: this.ipLists,
      audit: options.audit,
      limits: options.limits,
      bandwidth: options.bandwidth,
    });
    const core = this.core;
    createRelayNodeMetrics(registry, {
      capacity: options.announce.capacity,
      draining: () => core.draining,
    });
    this.denyList.onDenied((deviceIds) => this.core.cutDevices(deviceIds));
    this.ipLists.onBlocklistGrown(() => this.core.enforceBlocklist());
    this.listFiles =
      options.listsDir === undefined
        ? undefined
        : new ListFileWatcher({
            directory: options.listsDir,
            intervalMs: options.listsReloadMs ?? DEFAULT_LISTS_RELOAD_MS,
            onChange: (list, entries) => this.ipLists.replaceFileList(list, entries),
            logger,
          });
    this.server = new RelayServer(this.core, {
      ports: options.ports,
      logger,
      upgradeTimeoutMs: options.upgradeTimeoutMs,
      trustedProxies: new TrustedProxies(options.trustedProxies ?? [], {
        realIpHeader: options.trustRealIpHeader ?? false,
      }),
      allowedOrigins: new AllowedOrigins(options.allowedOrigins ?? []),
      tls: options.tls && {
        ...options.tls,
        metrics: new TlsListenerMetrics(registry),
        firstByteTimeoutMs: options.limits?.firstFrameTimeoutMs ?? DEFAULT_RELAY_LIMITS.firstFrameTimeoutMs,
      },
    });
    const refreshMs = options.announce.refreshMs ?? DEFAULT_REFRESH_MS;
    this.announcer = new RelayNodeAnnouncer({
      redis: this.redis,
      prefix,
      recordKey: options.recordKey,
      nodeId: options.announce.nodeId,
      address: options.announce.address,
      wsAddress: webSocketAddressOf(options.announce.address),
      capacity: options.announce.capacity,
      refreshMs,
      logger,
    });
    this.load = new NodeLoadReporter(this.core, this.announcer, refreshMs);
    this.health = new ServiceHealthReporter({
      redis: this.redis,
      redisKeyPrefix: options.redisPrefix,
      service: 'relay',
      instanceId: options.announce.nodeId,
      read: () => ({ eventsReady: this.events.ready, appliedSeq: this.events.appliedSeq }),
      logger: logger.child({ component: 'health-record' }),
    });
  }

  get addresses(): RelayAddresses {
    return this.server.addresses;
  }

  /** The deny set and IP lists are loaded and in sync with the event stream. */
  get eventsReady(): boolean {
    return this.events.ready;
  }

  /** Resolves once listening; Redis may still be down (readiness says so). */
  async start(): Promise<RelayAddresses> {
    const addresses = await this.server.start();
    this.load.start();
    this.health.start();
    await this.listFiles?.start();
    // Serving does not wait for Redis; being handed out by signal does: the node joins the registry
    // only once its deny set is loaded, so it enforces bans from its first brokered session.
    this.announced = this.events.start().then(() => this.announcer.start());
    this.announced.catch((error: unknown) => this.logger.warn({ err: error }, 'relay node not announced'));
    return addresses;
  }

  /** Resolves once in sync with the event stream (and announced); for tests and start scripts. */
  async whenReady(): Promise<void> {
    if (!this.announced) throw new Error('RelayNode is not started');
    await this.announced;
  }

  /**
   * Leaves the registry at once; goes on accepting for `leaveGraceMs` (signal may still hand this
   * node out until its picker's next refresh, and those sessions must not be refused), then stops
   * accepting, lets live sessions run for the rest of `drainMs`, cuts them and closes everything.
   * Resolves with how many sessions were cut.
   */
  async stop(drainMs: number, leaveGraceMs = 0): Promise<{ cut: number }> {
    this.load.stop();
    this.listFiles?.stop();
    const graceMs = Math.min(leaveGraceMs, drainMs);
    const left = this.announcer.drain();
    if (graceMs > 0) await new Promise((resolve) => setTimeout(resolve, graceMs));
    const [, closed] = await Promise.all([left, this.server.close(drainMs - graceMs)]);
    this.denyList.stop();
    this.ipLists.stop();
    await this.health.stop();
    await this.events.stop();
    this.redis.disconnect();
    return closed;
  }
}
