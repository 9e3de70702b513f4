import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import { type ClientAuthenticatedRequest } from '../client-auth/client-access';
import { ClientSessions } from '../client-auth/client-sessions';
import { AUTHENTICATORS, type Authenticator, SAFE_METHODS } from './authenticator';
import { roleHas, roleMayUse } from './permissions';
import { type AuthenticatedRequest, ROUTE_ACCESS, type RouteAccess } from './route-access';

/** A route without an access declaration: a programming error, never a silently open route. */
export class UndeclaredRouteAccessError extends Error {
  constructor(route: string) {
    super(`Route ${route} declares no access (@Public, @SelfService or @RequirePermission)`);
    this.name = 'UndeclaredRouteAccessError';
  }
}

/**
 * The one guard (global): authenticate with the first credential present, then check the channel the
 * role may use, CSRF/Origin for a browser's state change, a pending forced password change, and the
 * route's permission against the table in permissions.ts. 401 = who are you; 403 = not allowed.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTHENTICATORS) private readonly authenticators: readonly Authenticator[],
    private readonly clientSessions: ClientSessions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const access = this.reflector.getAllAndOverride<RouteAccess | undefined>(ROUTE_ACCESS, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (access === undefined) {
      throw new UndeclaredRouteAccessError(`${context.getClass().name}.${context.getHandler().name}`);
    }
    if (access.kind === 'public') return true;
    if (access.kind === 'client') {
      // A RustDesk client's login: its own token kind and rules (apps/api/src/client-auth).
      const request = context.switchToHttp().getRequest<ClientAuthenticatedRequest>();
      request.clientCaller = await this.clientSessions.authenticate(request);
      return true;
    }

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const authenticator = this.authenticators.find((candidate) => candidate.presentIn(request));
    if (authenticator === undefined) throw new UnauthorizedException('Authentication required');
    const principal = await authenticator.authenticate(request);

    if (!roleMayUse(principal.role, principal.channel)) {
      throw new ForbiddenException(
        principal.channel === 'panel'
          ? `The ${principal.role} role cannot use the console`
          : `The ${principal.role} role cannot use the API`,
      );
    }
    if (!SAFE_METHODS.has(request.method)) await authenticator.checkStateChange?.(request, principal);
    request.principal = principal;

    if (access.kind === 'self') {
      if (access.person === true && principal.credential === 'api_key') {
        throw new ForbiddenException('API keys cannot change credentials; sign in as the user');
      }
      return true;
    }
    if (principal.passwordMustChange) {
      throw new ForbiddenException('Password change required: change your password first');
    }
    if (!roleHas(principal.role, access.permission)) {
      throw new ForbiddenException(`Missing permission ${access.permission}`);
    }
    return true;
  }
}
