import { EventKeyFileError } from '@switchboard/events';
import { type Logger, startOpsServer } from '@switchboard/observability';
import { TlsConfigError } from '@switchboard/tls';

import { loadApiConfig } from './config';
import { createApiApp } from './create-app';
import { HealthService } from './health/health.service';
import { loadApiCredentials } from './http/api-tls';
import { startHttpsRedirect } from './http/https-redirect';
import { MetricsRegistry } from './metrics/metrics.registry';
import { createApiLogger } from './logging/api-logger';
import {
  resolveApiSecrets,
  resolveEventSigningKey,
  SecretsFile,
  SecretsFileError,
  secretsFilePath,
} from './secrets';

// Composition root: config, logger and secrets are settled here, then Nest takes over.

const EX_CONFIG = 78;
const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

async function main(): Promise<void> {
  const config = loadApiConfig(); // exits 78 listing every problem
  const logger = createApiLogger(config.LOG_LEVEL, { format: config.LOG_FORMAT });

  // Built before Nest: the certificate's metrics (expiry, reload failures) belong on the ops port too.
  const metrics = new MetricsRegistry();
  let tls;
  let resolved;
  let eventKey;
  try {
    // First, so a broken certificate stops the start before any key file is created.
    tls = await loadApiCredentials(config, logger, metrics.registry);
    resolved = await resolveApiSecrets(config, new SecretsFile(secretsFilePath(config.KEY_DIR)));
    eventKey = await resolveEventSigningKey(config);
  } catch (error) {
    if (!(
      error instanceof SecretsFileError ||
      error instanceof EventKeyFileError ||
      error instanceof TlsConfigError
    )) {
      throw error;
    }
    logger.fatal({ err: error }, error.message);
    process.exit(EX_CONFIG);
  }
  logger.info(
    { secrets: resolved.origin, file: resolved.filePath, fileCreated: resolved.fileCreated },
    'secrets resolved',
  );
  logger.info(
    {
      origin: eventKey.origin,
      file: eventKey.filePath,
      fileCreated: eventKey.fileCreated,
      publicKey: eventKey.key.verifyKey.toBase64(),
    },
    'event signing key resolved',
  );

  const app = await createApiApp({
    config,
    logger,
    secrets: resolved.secrets,
    eventSigningKey: eventKey.key,
    metrics,
    ...(tls ? { tls } : {}),
  });
  // Nest closes Fastify (draining requests), then Prisma and Redis, then exits 0.
  app.enableShutdownHooks([...SHUTDOWN_SIGNALS], { useProcessExit: true });
  exitIfShutdownStalls(config.SHUTDOWN_TIMEOUT_MS, logger);

  await app.listen({ port: config.API_PORT, host: config.API_HOST });
  logger.info({ host: config.API_HOST, port: config.API_PORT, https: tls !== undefined }, 'api listening');
  tls?.start(); // stopped when the app closes (create-app.ts)
  if (config.API_HTTP_REDIRECT_PORT !== undefined) {
    const redirect = await startHttpsRedirect({
      port: config.API_HTTP_REDIRECT_PORT,
      host: config.API_HOST,
      publicUrl: config.PUBLIC_URL,
      httpsPort: config.API_PORT,
      logger,
    });
    for (const signal of SHUTDOWN_SIGNALS) process.once(signal, () => void redirect.close());
    logger.info({ host: config.API_HOST, port: redirect.port }, 'plain-http redirect to https listening');
  }

  // Metrics and readiness detail, apart from the operator port (loopback unless METRICS_HOST is set).
  const health = app.get(HealthService);
  const ops = await startOpsServer({
    port: config.METRICS_PORT,
    host: config.METRICS_HOST,
    registry: metrics.registry,
    readiness: () => health.opsReadiness(),
    // Each check is bounded by READINESS_TIMEOUT_MS already; the margin lets a hung one be named.
    readinessTimeoutMs: config.READINESS_TIMEOUT_MS + 1_000,
    logger,
  });
  for (const signal of SHUTDOWN_SIGNALS) process.once(signal, () => void ops.close());
  logger.info({ host: config.METRICS_HOST, port: config.METRICS_PORT }, 'ops endpoints listening');
}

/** A request that never finishes must not keep a terminating pod alive forever. */
function exitIfShutdownStalls(timeoutMs: number, logger: Logger): void {
  for (const signal of SHUTDOWN_SIGNALS) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      setTimeout(() => {
        logger.fatal({ timeoutMs }, 'shutdown did not finish in time; exiting');
        process.exit(1);
      }, timeoutMs).unref();
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `api failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
