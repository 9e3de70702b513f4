import { type FastifyInstance } from 'fastify';

export interface ServedRoute {
  readonly method: string;
  /** As registered with Fastify, parameters as `:name`. */
  readonly url: string;
}

const routesByServer = new WeakMap<FastifyInstance, ServedRoute[]>();

/**
 * Records every route the server registers (Nest's, plugins', Fastify's automatic HEAD routes), so
 * the OpenAPI document can be checked against what is really served, not against Nest's metadata.
 */
export function trackServedRoutes(fastify: FastifyInstance): void {
  const routes: ServedRoute[] = [];
  routesByServer.set(fastify, routes);
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
}

export function servedRoutes(fastify: FastifyInstance): readonly ServedRoute[] {
  return routesByServer.get(fastify) ?? [];
}
