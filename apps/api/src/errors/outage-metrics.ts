import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Counter, type Registry } from '@switchboard/observability';

import { type Dependency, outageDependency } from './dependency-outage';

const DEPENDENCIES: readonly (Dependency | 'unknown')[] = ['postgres', 'redis', 'unknown'];

/** The outage behind a request's error, noted by whichever error writer answered it. */
const outages = new WeakMap<FastifyRequest, Dependency | 'unknown'>();

/**
 * Called by every writer of an error response (the exception filters, the client API's writers):
 * remembers which dependency's outage the request met, if any. Counting waits for onResponse, so a
 * request is counted once, and only when it really answered 503.
 */
export function noteOutage(request: FastifyRequest, exception: unknown): void {
  const dependency = outageDependency(exception);
  if (dependency !== undefined) outages.set(request, dependency);
}

/**
 * `switchboard_api_dependency_unavailable_total{dependency}`: requests answered 503 because Postgres
 * or Redis was unavailable. /readyz's 503 is not one of them: it reports the outage at the probe's
 * rate rather than failing a caller (its detail is on the ops port's /readyz). Nor is a refused
 * live-stream upgrade (switchboard_api_live_refused_total{status="503"}), which never reaches Fastify's
 * reply.
 */
export function installOutageMetrics(fastify: FastifyInstance, registry: Registry): void {
  const unavailable = new Counter({
    name: 'switchboard_api_dependency_unavailable_total',
    help: 'Requests answered 503 because a dependency was unavailable, by dependency (postgres, redis, unknown)',
    labelNames: ['dependency'] as const,
    registers: [registry],
  });
  for (const dependency of DEPENDENCIES) unavailable.inc({ dependency }, 0);
  fastify.addHook('onResponse', (request, reply, done) => {
    const dependency = outages.get(request);
    if (dependency !== undefined && reply.statusCode === 503) unavailable.inc({ dependency });
    done();
  });
}
