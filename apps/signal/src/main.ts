import { hostname } from 'node:os';
import { resolve } from 'node:path';

import { AuditQueueProducer } from '@switchboard/audit-queue';
import { loadConfig } from '@switchboard/config';
import { encodePublicKeyFile, type ServerKey } from '@switchboard/crypto';
import { createPrismaClient, DeviceRepository } from '@switchboard/data-access';
import {
  defaultInstanceId,
  EventKeyFileError,
  RedisEventBus,
  RefusalTally,
  resolveEventVerifyKey,
  ServiceHealthReporter,
} from '@switchboard/events';
import {
  checkReadiness,
  createLogger,
  createMetricsRegistry,
  exitOnShutdownSignal,
  type Logger,
  type Registry,
  startOpsServer,
} from '@switchboard/observability';
import {
  RelayAccessLists,
  RelayPicker,
  RelayRecordKeyError,
  RelayTicketStore,
  resolveRelayRecordKey,
} from '@switchboard/relay-registry';
import { TlsConfigError, TlsCredentials, TlsListenerMetrics } from '@switchboard/tls';
import { AllowedOrigins, createRedisClient, pingRedis, TrustedProxies } from '@switchboard/transport';

import { createDeviceAdmission } from './admission/device-admission';
import { ApiForwarder } from './api-proxy/api-forwarder';
import { DEFAULT_PROXY_REQUEST_LIMITS } from './api-proxy/proxy-request';
import { ConnAuditRefIssuer } from './caller/conn-audit-refs';
import { type SignalConfig, signalConfigSchema } from './config';
import { KeyStore, KeyStoreError, loadServerKey } from './key-store';
import { SignalServer, type SignalTlsOptions } from './server';
import { SignalCore } from './signal-core';

// Composition root of the rendezvous server (hbbs). `main.js` serves; `main.js keys` makes sure the key
// files exist, prints the Key clients need, and exits.

const EX_USAGE = 64;
const EX_CONFIG = 78;
/** How long start-up waits for the admission index (its no-events fallback fires after 3 s). */
const ADMISSION_LOAD_WAIT_MS = 5_000;

async function main(argv: readonly string[]): Promise<void> {
  const command = argv[0];
  if (command !== undefined && command !== 'keys') {
    process.stderr.write(`unknown command "${command}"\nusage: main.js [keys]\n`);
    process.exit(EX_USAGE);
  }
  const config = loadConfig(signalConfigSchema);
  if (command === 'keys') await printKey(config);
  else await serve(config);
}

async function printKey(config: SignalConfig): Promise<void> {
  // Logs go to stderr so a start script can capture the key from stdout alone.
  const logger = createLogger({
    name: 'signal',
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
    destination: process.stderr,
  });
  const key = await loadServerKey(config.KEY, new KeyStore(resolve(config.KEY_DIR), logger));
  const printable = key.signingKeyPair ? encodePublicKeyFile(key.signingKeyPair.publicKey) : key.licenceKey;
  if (printable === undefined) throw new Error('KEY yields neither a key pair nor a licence key');
  process.stdout.write(`${printable}\n`);
}

async function serve(config: SignalConfig): Promise<void> {
  const logger = createLogger({ name: 'signal', level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const serverKey = await loadServerKey(config.KEY, new KeyStore(resolve(config.KEY_DIR), logger));
  logKey(logger, serverKey);
  const eventKey = await resolveEventVerifyKey(config);
  const recordKey = await resolveRelayRecordKey(config);
  logger.info({ eventVerifyKey: eventKey.source, registryKey: recordKey.source }, 'control keys loaded');

  const registry = createMetricsRegistry();
  // Before any connection to Redis or Postgres: a bad certificate is a configuration error.
  const tls = await loadTls(config, logger, registry);
  const redis = createRedisClient(config.REDIS_URL, logger);
  const prisma = createPrismaClient(config.DATABASE_URL, {
    applicationName: 'switchboard-signal',
    maxConnections: 4,
  });
  const events = new RedisEventBus({
    redis: config.REDIS_URL,
    prefix: `${config.REDIS_KEY_PREFIX}:events`,
    verifyKey: eventKey.key,
    logger: logger.child({ component: 'events' }),
    registry,
  });
  const relayPrefix = `${config.REDIS_KEY_PREFIX}:relay`;
  // Deny set and write-behind over the devices table; both keep serving from memory when Postgres is
  // down. The relays' deny set in Redis is read first, so bans hold while Postgres is slow or down.
  const admission = createDeviceAdmission({
    devices: new DeviceRepository(prisma),
    events,
    logger,
    registry,
    defaultPolicy: config.REGISTRATION_POLICY,
    access: { denySet: new RelayAccessLists({ redis, prefix: relayPrefix }) },
  });
  const relays = new RelayPicker({
    redis,
    prefix: relayPrefix,
    recordKey: recordKey.key,
    staticRelays: config.RELAY_SERVERS,
    logger,
    registry,
  });
  // Signed with the identity key, which the relays know as the licence key: Redis writers cannot mint.
  const tickets = new RelayTicketStore({
    redis,
    prefix: relayPrefix,
    logger,
    registry,
    signingKey: serverKey.signingKeyPair?.secretKey,
  });
  if (serverKey.signingKeyPair === undefined) {
    logger.warn(
      'KEY is a bare licence key: no signing key, so no relay tickets; strict relays will refuse sessions',
    );
  }
  // Refusals and ban-closed links, queued for the api to append to the audit chain.
  const audit = new AuditQueueProducer({
    redisUrl: config.REDIS_URL,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    actorId: 'signal',
    logger,
    registry,
  });
  // The operators' dashboard: refused registrations by reason (counted in memory, flushed in
  // batches) and this instance's event health, both written to Redis off the request paths.
  const refusalTally = new RefusalTally({
    redis,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    logger: logger.child({ component: 'dashboard-counts' }),
  });
  const health = new ServiceHealthReporter({
    redis,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    service: 'signal',
    instanceId: defaultInstanceId(hostname(), process.pid),
    read: () => ({ eventsReady: events.ready, appliedSeq: events.appliedSeq }),
    logger: logger.child({ component: 'health-record' }),
  });
  const signingSecret = serverKey.signingKeyPair?.secretKey;
  const core = new SignalCore({
    logger,
    registry,
    serverKey,
    apiProxy: config.API_PROXY_ENABLED
      ? new ApiForwarder({
          apiUrl: config.API_URL,
          timeoutMs: config.API_PROXY_TIMEOUT_MS,
          maxResponseBytes: config.API_PROXY_MAX_RESPONSE_BYTES,
          maxInFlight: config.API_PROXY_MAX_IN_FLIGHT,
          ...DEFAULT_PROXY_REQUEST_LIMITS,
        })
      : undefined,
    // The event subscriber's key: only the api can mint a token signal vouches for.
    auditRefs: signingSecret === undefined ? undefined : new ConnAuditRefIssuer(eventKey.key, signingSecret),
    access: admission.access,
    writer: admission.writer,
    relays,
    tickets,
    audit,
    registrationRefusals: refusalTally,
    limits: {
      maxConnections: config.SIGNAL_MAX_CONNECTIONS,
      ipv6PrefixLength: config.RATE_LIMIT_IPV6_PREFIX,
      maxPeers: config.MAX_PEERS,
      udpNewDevices: config.UDP_NEW_DEVICES_PER_MINUTE,
      relayTicketsPerIp: config.RELAY_TICKETS_PER_IP_PER_MINUTE,
      relayTicketsPerPeer: config.RELAY_TICKETS_PER_ID_PER_MINUTE,
      relayAnswerFromPeerNetwork: config.RELAY_TICKET_IP_CHECK,
    },
  });
  // An operator renamed a device (as Postgres confirms): its live record follows.
  admission.access.onRenamed((oldId, newId) => core.renamePeer(oldId, newId));
  admission.start();
  // Neither waits for Redis: the data plane serves without it, and /readyz says so.
  events
    .start()
    .catch((error: unknown) => logger.warn({ err: error }, 'event subscriber stopped before ready'));
  await relays.start();
  refusalTally.start();
  health.start();
  // Open no listener before the deny set is in memory, or a banned device could register in the
  // first moments. If Postgres is down we start anyway (refusing unknown ids per policy, not ready),
  // with the bans Redis holds.
  const [indexLoaded, denySetLoaded] = await Promise.all([
    admission.access.whenLoaded(ADMISSION_LOAD_WAIT_MS),
    admission.access.whenDenySetLoaded(ADMISSION_LOAD_WAIT_MS),
  ]);
  if (!indexLoaded) {
    logger.warn(
      { waitedMs: ADMISSION_LOAD_WAIT_MS, denySetLoaded },
      'starting before the admission index could load',
    );
  }

  const server = new SignalServer(core, {
    ports: {
      host: config.BIND_HOST,
      port: config.SIGNAL_PORT,
      natTestPort: config.SIGNAL_NAT_PORT,
      wsPort: config.SIGNAL_WS_PORT,
    },
    trustedProxies: new TrustedProxies(config.TRUSTED_PROXIES, { realIpHeader: config.TRUST_X_REAL_IP }),
    allowedOrigins: new AllowedOrigins(config.WS_ALLOWED_ORIGINS),
    logger,
    tls,
  });
  const stopDependencies = async () => {
    tls?.credentials?.stop();
    await admission.stop(config.SHUTDOWN_TIMEOUT_SECONDS * 500);
    await relays.stop();
    await refusalTally.stop();
    await health.stop();
    await events.stop();
    await tickets.flush();
    await audit.close();
    redis.disconnect();
    await prisma.$disconnect();
  };
  const addresses = await server.start().catch(async (error: unknown) => {
    await stopDependencies();
    throw error;
  });

  let accepting = true;
  const ops = await startOpsServer({
    port: config.METRICS_PORT,
    host: config.METRICS_HOST,
    registry,
    logger,
    readiness: () =>
      checkReadiness({
        listeners: () => (accepting ? Promise.resolve() : Promise.reject(new Error('shutting down'))),
        redis: () => pingRedis(redis),
        admission: () =>
          admission.access.ready
            ? Promise.resolve()
            : Promise.reject(new Error('device access not loaded or not in sync with events')),
      }),
  }).catch(async (error: unknown) => {
    await server.close();
    await stopDependencies();
    throw error;
  });

  exitOnShutdownSignal({
    logger,
    deadlineMs: config.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    shutdown: async () => {
      accepting = false;
      await server.close();
      // Pending device rows get half the deadline to reach Postgres.
      await stopDependencies();
      await ops.close();
    },
  });
  logger.info(
    {
      udp: addresses.udp.port,
      tcp: addresses.tcp.port,
      natTest: addresses.natTest.port,
      ws: addresses.ws.port,
      tcpTls: config.SIGNAL_TLS,
      wsTls: config.SIGNAL_WS_TLS,
      metrics: ops.address.port,
      host: config.BIND_HOST,
      registrationPolicy: config.REGISTRATION_POLICY,
    },
    'signal listening',
  );
}

/** The certificate when any listener may speak TLS, re-read as its files change; undefined when all are off. */
async function loadTls(
  config: SignalConfig,
  logger: Logger,
  registry: Registry,
): Promise<SignalTlsOptions | undefined> {
  const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } = config;
  if (config.SIGNAL_TLS === 'off' && config.SIGNAL_WS_TLS === 'off') return undefined;
  // The schema refuses a mode other than off without both files.
  if (certFile === undefined || keyFile === undefined)
    throw new Error('TLS mode set without certificate files');
  const credentials = await TlsCredentials.load({
    files: { certFile, keyFile },
    logger: logger.child({ component: 'tls' }),
    registry,
    reloadIntervalMs: config.TLS_RELOAD_SECONDS * 1000,
    publicHosts: config.TLS_PUBLIC_HOSTS,
  });
  credentials.start();
  return {
    tcpMode: config.SIGNAL_TLS,
    wsMode: config.SIGNAL_WS_TLS,
    credentials,
    metrics: new TlsListenerMetrics(registry),
    handshakeTimeoutMs: config.TLS_HANDSHAKE_TIMEOUT_SECONDS * 1000,
    maxPendingHandshakes: config.TLS_MAX_PENDING_HANDSHAKES,
    plainAfterSilenceMs: config.SIGNAL_TLS_PLAIN_AFTER_MS,
  };
}

function logKey(logger: Logger, key: ServerKey): void {
  logger.info(
    {
      publicKey: key.signingKeyPair ? encodePublicKeyFile(key.signingKeyPair.publicKey) : undefined,
      licenceCheck: key.licenceKey !== undefined,
      signing: key.signingKeyPair !== undefined,
    },
    'server key loaded',
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Start-up failed before the service could log on its own: say why on stderr, where operators look.
  const message = error instanceof Error ? error.message : String(error);
  if (
    error instanceof KeyStoreError ||
    error instanceof EventKeyFileError ||
    error instanceof RelayRecordKeyError ||
    error instanceof TlsConfigError
  ) {
    process.stderr.write(`signal: cannot start: ${message}\n`);
    process.exit(EX_CONFIG);
  }
  process.stderr.write(
    `signal: cannot start: ${error instanceof Error ? (error.stack ?? message) : message}\n`,
  );
  process.exit(1);
});
