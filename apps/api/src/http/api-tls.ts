import { type Server as HttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';

import { type Logger, type Registry } from '@switchboard/observability';
import { certificateNames, MODERN_TLS_OPTIONS, TlsCredentials, TlsListenerMetrics } from '@switchboard/tls';

import { apiServesHttps, type ApiConfig } from '../config';

// HTTPS on API_PORT (docs/architecture.md "HTTPS"): Node's own https.Server under Fastify, so the
// console, the API and the live stream (wss) share the port and Fastify sees `request.protocol`
// https. The certificate comes from @switchboard/tls like signal's and the relay's.

const LISTENER = 'https';

/** The api's certificate when API_TLS is on (rejects with TlsConfigError listing every problem), else undefined. */
export async function loadApiCredentials(
  config: ApiConfig,
  logger: Logger,
  registry: Registry,
): Promise<TlsCredentials | undefined> {
  const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } = config;
  // The config refuses API_TLS on without both files, so the second test only narrows the types.
  if (!apiServesHttps(config) || certFile === undefined || keyFile === undefined) return undefined;
  return TlsCredentials.load({
    files: { certFile, keyFile },
    logger,
    registry,
    reloadIntervalMs: config.TLS_RELOAD_SECONDS * 1000,
    publicHosts: apiPublicHosts(config),
  });
}

/** The names clients dial: PUBLIC_URL's host and TLS_PUBLIC_HOSTS (a certificate naming none is warned about). */
export function apiPublicHosts(config: ApiConfig): string[] {
  const hosts = [...config.TLS_PUBLIC_HOSTS];
  if (config.PUBLIC_URL !== undefined) {
    hosts.unshift(new URL(config.PUBLIC_URL).hostname.replace(/^\[(.*)\]$/, '$1'));
  }
  return hosts;
}

/**
 * What Fastify hands to `https.createServer`. The default context serves clients that send no SNI
 * (an IP address); SNICallback serves the rest the current one and counts names the certificate
 * does not cover.
 */
export function httpsServerOptions(
  credentials: TlsCredentials,
  config: ApiConfig,
  metrics: TlsListenerMetrics,
): HttpsServerOptions {
  return {
    ...credentials.certificate.contextOptions,
    ...MODERN_TLS_OPTIONS,
    handshakeTimeout: config.TLS_HANDSHAKE_TIMEOUT_SECONDS * 1000,
    SNICallback: (serverName, done) => {
      if (!certificateNames(credentials.certificate.leaf, serverName)) {
        metrics.unknownServerNames.inc({ listener: LISTENER });
      }
      done(null, credentials.context);
    },
  };
}

/**
 * After the server exists: a reloaded pair becomes its default context (new connections only; an
 * open keep-alive connection keeps the session it negotiated), and handshakes are counted under
 * the metric names the other services use.
 */
export function attachCredentials(
  server: HttpsServer,
  credentials: TlsCredentials,
  metrics: TlsListenerMetrics,
  logger: Logger,
): void {
  credentials.onChange(() => server.setSecureContext(credentials.certificate.contextOptions));
  server.on('secureConnection', () => {
    metrics.handshakes.inc({ listener: LISTENER, result: 'ok' });
    metrics.connections.inc({ listener: LISTENER, protocol: 'tls' });
  });
  // Node destroys the socket after this event (a plain-http request, a stalled or bad handshake);
  // listening here only counts it, and keeps it out of the error log at debug level.
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket) => {
    const result = error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'timeout' : 'failed';
    metrics.handshakes.inc({ listener: LISTENER, result });
    logger.debug({ err: error, address: socket.remoteAddress }, 'TLS handshake failed');
  });
}

export function apiTlsMetrics(registry: Registry): TlsListenerMetrics {
  return new TlsListenerMetrics(registry);
}
