import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';

import { type Permission } from './permissions';
import { type Principal, type RequestOrigin } from './principal';

/*
 * Every route declares exactly one of these; the AccessGuard refuses (500, loudly) a route that
 * declares none, and the route × role test fails on it before that can ship.
 *   @Public()                   no credential needed (login, health, the client's deploy call)
 *   @SelfService()              any signed-in user, for their own account (profile, sessions, keys)
 *   @SelfService({ person: true })  the same, but only the person: an API key acting for them is
 *                                   refused, since a leaked key must not change its owner's credentials
 *   @RequirePermission('x.y')   a permission from the table in permissions.ts
 *   @ClientUser()               a RustDesk client's bearer login (apps/api/src/client-auth)
 */

export const ROUTE_ACCESS = 'switchboard:route-access';

export type RouteAccess =
  | { readonly kind: 'public' }
  | { readonly kind: 'self'; readonly person?: true }
  | { readonly kind: 'permission'; readonly permission: Permission }
  | { readonly kind: 'client' };

export const Public = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ROUTE_ACCESS, { kind: 'public' } satisfies RouteAccess);

export const SelfService = (options: { person?: true } = {}): MethodDecorator & ClassDecorator =>
  SetMetadata(ROUTE_ACCESS, { kind: 'self', ...options } satisfies RouteAccess);

export const RequirePermission = (permission: Permission): MethodDecorator & ClassDecorator =>
  SetMetadata(ROUTE_ACCESS, { kind: 'permission', permission } satisfies RouteAccess);

/** Where the guard leaves the principal on the request. */
export interface AuthenticatedRequest extends FastifyRequest {
  principal?: Principal;
}

/** The signed-in principal (only on non-public routes, where the guard guarantees one). */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    if (principal === undefined) throw new Error('CurrentPrincipal used on a route without a principal');
    return principal;
  },
);

/** Client IP (after trusted-proxy resolution by Fastify) and user agent, for audit entries. */
export const CurrentOrigin = createParamDecorator(
  (_data: unknown, context: ExecutionContext): RequestOrigin => {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const userAgent = request.headers['user-agent'];
    return {
      ip: request.ip ?? null,
      userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
    };
  },
);
