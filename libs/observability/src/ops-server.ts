import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';

import { type Registry } from 'prom-client';

import { type Logger } from './logger';
import { type ReadinessReport, withTimeout } from './readiness';

export interface OpsServerOptions {
  port: number;
  /** Loopback unless given: the endpoints answer anyone who can connect (METRICS_HOST). */
  host?: string;
  registry: Registry;
  /** What /readyz reports; a rejection or a hang past `readinessTimeoutMs` counts as not ready. */
  readiness: () => Promise<ReadinessReport>;
  logger: Logger;
  readinessTimeoutMs?: number;
}

export interface OpsServer {
  readonly address: AddressInfo;
  /** `http://host:port`, handy in tests. */
  readonly url: string;
  /** Stops listening and drops open keep-alive connections; safe to call twice. */
  close(): Promise<void>;
}

export const DEFAULT_OPS_READINESS_TIMEOUT_MS = 3_000;
export const DEFAULT_OPS_HOST = '127.0.0.1';

// Probes and scrapes are tiny; anything slower than this is a stuck client, not a slow one.
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;

/**
 * The ops endpoints every data-plane service exposes on its own port: /healthz (the process is up),
 * /readyz (its dependencies are usable, with per-check detail) and /metrics (Prometheus text).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const logger = options.logger.child({ component: 'ops-server' });
  const readinessTimeoutMs = options.readinessTimeoutMs ?? DEFAULT_OPS_READINESS_TIMEOUT_MS;

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://ops.invalid').pathname;
    const known = path === '/healthz' || path === '/readyz' || path === '/metrics';
    if (!known) return send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    if (path === '/healthz') return send(response, 200, 'text/plain; charset=utf-8', 'ok\n');
    if (path === '/metrics') {
      const body = await options.registry.metrics();
      return send(response, 200, options.registry.contentType, body);
    }
    let report: ReadinessReport;
    try {
      report = await withTimeout(options.readiness, readinessTimeoutMs);
    } catch (error) {
      logger.warn({ err: error }, 'readiness probe failed');
      const message = error instanceof Error ? error.message : String(error);
      report = { ready: false, checks: { readiness: { ok: false, error: message, durationMs: 0 } } };
    }
    send(response, report.ready ? 200 : 503, 'application/json', JSON.stringify(report));
  }

  const server: Server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      logger.error({ err: error, url: request.url }, 'ops request failed');
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    });
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.on('clientError', (error, socket) => {
    logger.debug({ err: error }, 'malformed ops request');
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host ?? DEFAULT_OPS_HOST }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error }, 'ops server error'));

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    address,
    url: `http://${host}:${address.port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      })),
  };
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
