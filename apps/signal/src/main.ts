import { resolve } from 'node:path';

import { loadConfig } from '@switchboard/config';
import { encodePublicKeyFile, type ServerKey } from '@switchboard/crypto';
import {
  checkReadiness,
  createLogger,
  createMetricsRegistry,
  exitOnShutdownSignal,
  type Logger,
  startOpsServer,
} from '@switchboard/observability';

import { type SignalConfig, signalConfigSchema } from './config';
import { KeyStore, KeyStoreError, loadServerKey } from './key-store';
import { createRedisClient, pingRedis } from '@switchboard/transport';
import { SignalServer } from './server';
import { SignalCore } from './signal-core';
import { TrustedProxies } from './transport/client-address';

// Composition root of the rendezvous server (hbbs). `main.js` serves; `main.js keys` makes sure the key
// files exist, prints the Key clients need, and exits.

const EX_USAGE = 64;
const EX_CONFIG = 78;

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
  const logger = createLogger({ name: 'signal', level: config.LOG_LEVEL, destination: process.stderr });
  const key = await loadServerKey(config.KEY, new KeyStore(resolve(config.KEY_DIR), logger));
  const printable = key.signingKeyPair ? encodePublicKeyFile(key.signingKeyPair.publicKey) : key.licenceKey;
  if (printable === undefined) throw new Error('KEY yields neither a key pair nor a licence key');
  process.stdout.write(`${printable}\n`);
}

async function serve(config: SignalConfig): Promise<void> {
  const logger = createLogger({ name: 'signal', level: config.LOG_LEVEL });
  const serverKey = await loadServerKey(config.KEY, new KeyStore(resolve(config.KEY_DIR), logger));
  logKey(logger, serverKey);

  const registry = createMetricsRegistry({ service: 'signal' });
  const redis = createRedisClient(config.REDIS_URL, logger);
  const core = new SignalCore({ logger, registry });
  const server = new SignalServer(core, {
    ports: {
      host: config.BIND_HOST,
      port: config.SIGNAL_PORT,
      natTestPort: config.SIGNAL_NAT_PORT,
      wsPort: config.SIGNAL_WS_PORT,
    },
    trustedProxies: new TrustedProxies(config.TRUSTED_PROXIES),
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
        listeners: () => (accepting ? Promise.resolve() : Promise.reject(new Error('shutting down'))),
        redis: () => pingRedis(redis),
      }),
  }).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });

  exitOnShutdownSignal({
    logger,
    deadlineMs: config.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    shutdown: async () => {
      accepting = false;
      await server.close();
      redis.disconnect();
      await ops.close();
    },
  });
  logger.info(
    {
      udp: addresses.udp.port,
      tcp: addresses.tcp.port,
      natTest: addresses.natTest.port,
      ws: addresses.ws.port,
      metrics: ops.address.port,
      host: config.BIND_HOST,
      registrationPolicy: config.REGISTRATION_POLICY,
    },
    'signal listening',
  );
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
  if (error instanceof KeyStoreError) {
    process.stderr.write(`signal: cannot start: ${message}\n`);
    process.exit(EX_CONFIG);
  }
  process.stderr.write(
    `signal: cannot start: ${error instanceof Error ? (error.stack ?? message) : message}\n`,
  );
  process.exit(1);
});
