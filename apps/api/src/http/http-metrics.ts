import { type FastifyInstance } from 'fastify';
import { Histogram, type Registry } from '@switchboard/observability';

/** The `route` of a request no route matched (a 404, or a URL the router refused). */
export const UNMATCHED_ROUTE = 'unmatched';

/** 5 ms to 10 s: a login (argon2) sits near 100-300 ms, a CSV export or a bulk action may take seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * `switchboard_api_http_request_duration_seconds{method,route,status}` for every answered request.
 * `route` is the template Fastify matched (`/api/v1/devices/:id`), never the URL: anyone can send
 * any path, and one series per path would grow without bound. Methods outside the usual few are
 * folded into `other` for the same reason. Installed once, on the server before any route exists,
 * so the hook covers every route (Nest's, the console's static files, Fastify's own 404).
 */
export function installHttpMetrics(fastify: FastifyInstance, registry: Registry): void {
  const duration = new Histogram({
    name: 'switchboard_api_http_request_duration_seconds',
    help: 'Time to answer an HTTP request on the operator port, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    duration.observe(
      {
        method: KNOWN_METHODS.has(request.method) ? request.method : 'other',
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
