import { resolve } from 'node:path';

import { loadConfig } from '@switchboard/config';
import {
  checkReadiness,
  createLogger,
  createMetricsRegistry,
  exitOnShutdownSignal,
  startOpsServer,
} from '@switchboard/observability';

import { type RelayConfig, relayConfigSchema } from './config';
import { createRedisClient, pingRedis } from '@switchboard/transport';
import { RelayCore } from './relay-core';
import { loadRelayLicenceKey, RelayKeyError } from './relay-key';
import { RelayServer } from './server';

// Composition root of the relay (hbbr). On SIGTERM it stops accepting, lets live sessions finish for
// up to DRAIN_TIMEOUT_SECONDS, then exits 0; clients of cut sessions reconnect through another relay.

const EX_CONFIG = 78;
// Beyond the drain itself: closing listeners, Redis and the ops server.
const SHUTDOWN_MARGIN_MS = 5_000;

async function main(): Promise<void> {
  const config = loadConfig(relayConfigSchema);
  await serve(config);
}

async function serve(config: RelayConfig): Promise<void> {
  const logger = createLogger({ name: 'relay', level: config.LOG_LEVEL });
  const licenceKey = await loadRelayLicenceKey(config.KEY, resolve(config.KEY_DIR));
  logger.info({ licenceCheck: licenceKey !== undefined, strict: config.RELAY_STRICT }, 'relay key loaded');

  const registry = createMetricsRegistry({ service: 'relay' });
  const redis = createRedisClient(config.REDIS_URL, logger);
  const core = new RelayCore({ logger, registry });
  const server = new RelayServer(core, {
    ports: { host: config.BIND_HOST, port: config.RELAY_PORT, wsPort: config.RELAY_WS_PORT },
    logger,
  });
  const addresses = await server.start();

  let accepting = true;
  const ops = await startOpsServer({
    port: config.METRICS_PORT,
    host: config.BIND_HOST,
    registry,
    logger,
    readiness: () =>
      checkReadiness({
        listeners: () => (accepting ? Promise.resolve() : Promise.reject(new Error('draining'))),
        redis: () => pingRedis(redis),
      }),
  }).catch(async (error: unknown) => {
    await server.close(0);
    throw error;
  });

  const drainMs = config.DRAIN_TIMEOUT_SECONDS * 1000;
  exitOnShutdownSignal({
    logger,
    deadlineMs: drainMs + SHUTDOWN_MARGIN_MS,
    shutdown: async () => {
      // /readyz turns 503 at once, so load balancers stop sending clients while sessions drain.
      accepting = false;
      await server.close(drainMs);
      redis.disconnect();
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
    },
    'relay listening',
  );
}

main().catch((error: unknown) => {
  // Start-up failed before the service could log on its own: say why on stderr, where operators look.
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RelayKeyError) {
    process.stderr.write(`relay: cannot start: ${message}\n`);
    process.exit(EX_CONFIG);
  }
  process.stderr.write(
    `relay: cannot start: ${error instanceof Error ? (error.stack ?? message) : message}\n`,
  );
  process.exit(1);
});
