import { resolve } from 'node:path';

import { AuditQueueProducer } from '@switchboard/audit-queue';
import { loadConfig } from '@switchboard/config';
import { EventKeyFileError, resolveEventVerifyKey } from '@switchboard/events';
import {
  checkReadiness,
  createLogger,
  createMetricsRegistry,
  exitOnShutdownSignal,
  startOpsServer,
} from '@switchboard/observability';
import { RelayRecordKeyError, resolveRelayRecordKey } from '@switchboard/relay-registry';
import { effectiveListenerMode, TlsConfigError, TlsCredentials } from '@switchboard/tls';

import { readListFile } from './access/ip-access-lists';
import { type RelayConfig, relayConfigSchema, relayPublicHosts } from './config';
import { loadRelayKeys, RelayKeyError } from './relay-key';
import { RelayNode } from './relay-node';

// Composition root of the relay (hbbr). On SIGTERM it stops accepting, leaves the node registry at
// once (signal stops handing it out), lets live sessions finish for up to DRAIN_TIMEOUT_SECONDS,
// then exits 0; clients of cut sessions reconnect through another relay.

const EX_CONFIG = 78;
// Beyond the drain itself: closing listeners, Redis and the ops server.
const SHUTDOWN_MARGIN_MS = 5_000;

async function main(): Promise<void> {
  const config = loadConfig(relayConfigSchema);
  await serve(config);
}

async function serve(config: RelayConfig): Promise<void> {
  const logger = createLogger({ name: 'relay', level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const { licenceKey, signalPublicKey } = await loadRelayKeys(config.KEY, resolve(config.KEY_DIR));
  if (config.RELAY_STRICT && signalPublicKey === undefined) {
    throw new RelayKeyError(
      `RELAY_STRICT needs signal's public key to verify relay tickets: put id_ed25519.pub in KEY_DIR ` +
        `(${resolve(config.KEY_DIR)}), or set KEY to signal's public key, or set RELAY_STRICT=false.`,
    );
  }
  const eventKey = await resolveEventVerifyKey(config);
  const recordKey = await resolveRelayRecordKey(config);
  const listsDir = resolve(config.RELAY_LISTS_DIR);
  const listFiles = {
    blocklist: await readListFile(listsDir, 'blocklist'),
    blacklist: await readListFile(listsDir, 'blacklist'),
  };
  logger.info(
    {
      licenceCheck: licenceKey !== undefined,
      strict: config.RELAY_STRICT,
      ticketIpCheck: config.RELAY_TICKET_IP_CHECK,
      blocklistFile: listFiles.blocklist.size,
      blacklistFile: listFiles.blacklist.size,
      eventVerifyKey: eventKey.source,
      registryKey: recordKey.source,
    },
    'relay keys and lists loaded',
  );

  const registry = createMetricsRegistry();
  const tcpTls = effectiveListenerMode(config.RELAY_TLS, config);
  const wsTls = effectiveListenerMode(config.RELAY_WS_TLS, config);
  // Read (and checked) once here even if only one port uses it; polled for a replacement from then on.
  const credentials =
    tcpTls === 'off' && wsTls === 'off'
      ? undefined
      : await TlsCredentials.load({
          // config.ts's superRefine guarantees both are set when a mode is not off.
          files: { certFile: config.TLS_CERT_FILE ?? '', keyFile: config.TLS_KEY_FILE ?? '' },
          logger,
          registry,
          reloadIntervalMs: config.TLS_RELOAD_SECONDS * 1000,
          publicHosts: relayPublicHosts(config),
        });
  credentials?.start();
  logger.info({ tcp: tcpTls, ws: wsTls }, 'relay TLS modes');
  // Ban cuts and refused sessions, queued for the api to append to the audit chain.
  const audit = new AuditQueueProducer({
    redisUrl: config.REDIS_URL,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    actorId: `relay:${config.RELAY_NODE_ID}`,
    logger,
    registry,
  });
  const node = new RelayNode({
    logger,
    registry,
    redisUrl: config.REDIS_URL,
    redisPrefix: config.REDIS_KEY_PREFIX,
    licenceKey,
    eventVerifyKey: eventKey.key,
    recordKey: recordKey.key,
    signalPublicKey,
    strict: config.RELAY_STRICT,
    ticketIpCheck: config.RELAY_TICKET_IP_CHECK,
    ipv6PrefixLength: config.RATE_LIMIT_IPV6_PREFIX,
    ports: { host: config.BIND_HOST, port: config.RELAY_PORT, wsPort: config.RELAY_WS_PORT },
    listFiles,
    listsDir,
    listsReloadMs: config.RELAY_LISTS_RELOAD_SECONDS * 1000,
    limits: {
      firstFrameTimeoutMs: config.RELAY_FIRST_FRAME_TIMEOUT_SECONDS * 1000,
      unpairedTimeoutMs: config.RELAY_UNPAIRED_TIMEOUT_SECONDS * 1000,
      ticketWaitMs: config.RELAY_TICKET_WAIT_SECONDS * 1000,
      idleTimeoutMs: config.RELAY_IDLE_TIMEOUT_SECONDS * 1000,
      maxConnectionsPerIp: config.RELAY_MAX_CONNECTIONS_PER_IP,
      maxConnections: config.RELAY_MAX_CONNECTIONS,
      ipv6PrefixLength: config.RATE_LIMIT_IPV6_PREFIX,
    },
    bandwidth: {
      totalMbps: config.TOTAL_BANDWIDTH,
      singleMbps: config.SINGLE_BANDWIDTH,
      limitSpeedMbps: config.LIMIT_SPEED,
      downgradeThreshold: config.DOWNGRADE_THRESHOLD,
      downgradeStartMs: config.DOWNGRADE_START_CHECK * 1000,
    },
    upgradeTimeoutMs: config.RELAY_FIRST_FRAME_TIMEOUT_SECONDS * 1000,
    tls: {
      tcpMode: tcpTls,
      wsMode: wsTls,
      credentials,
      handshakeTimeoutMs: config.TLS_HANDSHAKE_TIMEOUT_SECONDS * 1000,
      maxPendingHandshakes: config.TLS_MAX_PENDING_HANDSHAKES,
    },
    audit,
    trustedProxies: config.TRUSTED_PROXIES,
    trustRealIpHeader: config.TRUST_X_REAL_IP,
    allowedOrigins: config.WS_ALLOWED_ORIGINS,
    announce: {
      nodeId: config.RELAY_NODE_ID,
      address: config.RELAY_PUBLIC_ADDR,
      aliases: config.RELAY_ALIASES,
      capacity: config.RELAY_CAPACITY,
    },
  });
  const addresses = await node.start();

  let accepting = true;
  const ops = await startOpsServer({
    port: config.METRICS_PORT,
    host: config.METRICS_HOST,
    registry,
    logger,
    readiness: () =>
      checkReadiness({
        listeners: () => (accepting ? Promise.resolve() : Promise.reject(new Error('draining'))),
        events: () =>
          node.eventsReady
            ? Promise.resolve()
            : Promise.reject(new Error('deny set not loaded or not in sync with events')),
      }),
  }).catch(async (error: unknown) => {
    credentials?.stop();
    await node.stop(0);
    await audit.close();
    throw error;
  });

  const drainMs = config.DRAIN_TIMEOUT_SECONDS * 1000;
  exitOnShutdownSignal({
    logger,
    deadlineMs: drainMs + SHUTDOWN_MARGIN_MS,
    shutdown: async () => {
      // /readyz turns 503 and the node leaves the registry at once; it accepts what signal brokered
      // before it saw that, then stops accepting while live sessions run on.
      accepting = false;
      const { cut } = await node.stop(drainMs, config.RELAY_LEAVE_GRACE_SECONDS * 1000);
      credentials?.stop();
      logger.info({ cut }, 'relay drained');
      await audit.close();
      await ops.close();
    },
  });
  logger.info(
    {
      tcp: addresses.tcp.port,
      ws: addresses.ws.port,
      metrics: ops.address.port,
      host: config.BIND_HOST,
      nodeId: config.RELAY_NODE_ID,
      publicAddress: config.RELAY_PUBLIC_ADDR,
      redisPrefix: config.REDIS_KEY_PREFIX,
      tls: { tcp: tcpTls, ws: wsTls },
    },
    'relay listening',
  );
}

main().catch((error: unknown) => {
  // Start-up failed before the service could log on its own: say why on stderr, where operators look.
  const message = error instanceof Error ? error.message : String(error);
  if (
    error instanceof RelayKeyError ||
    error instanceof EventKeyFileError ||
    error instanceof RelayRecordKeyError ||
    error instanceof TlsConfigError
  ) {
    process.stderr.write(`relay: cannot start: ${message}\n`);
    process.exit(EX_CONFIG);
  }
  process.stderr.write(
    `relay: cannot start: ${error instanceof Error ? (error.stack ?? message) : message}\n`,
  );
  process.exit(1);
});
