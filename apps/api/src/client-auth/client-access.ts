import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';

import { ROUTE_ACCESS, type RouteAccess } from '../auth/route-access';
import { type ClientCaller } from './client-caller';

/**
 * A route a logged-in RustDesk client calls with `Authorization: Bearer <access_token>`. The
 * AccessGuard resolves the token against the sessions table; a missing, bad, expired or revoked one
 * answers 401 `{error: "Invalid token"}`, which makes the client log out.
 */
export const ClientUser = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ROUTE_ACCESS, { kind: 'client' } satisfies RouteAccess);

/** Where the guard leaves the caller on the request. */
export interface ClientAuthenticatedRequest extends FastifyRequest {
  clientCaller?: ClientCaller;
}

/** The caller of a `@ClientUser()` route. */
export const CurrentClientCaller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ClientCaller => {
    const caller = context.switchToHttp().getRequest<ClientAuthenticatedRequest>().clientCaller;
    if (caller === undefined) throw new Error('CurrentClientCaller used on a route without @ClientUser()');
    return caller;
  },
);
