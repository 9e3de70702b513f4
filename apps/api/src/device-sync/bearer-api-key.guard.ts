import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import { ApiKeyAuthenticator } from '../api-keys/api-key.authenticator';
import { type Permission, roleHas, roleMayUse } from '../auth/permissions';
import { type AuthenticatedRequest } from '../auth/route-access';

const BEARER_API_KEY_PERMISSION = 'switchboard:bearer-api-key-permission';

/**
 * For the RustDesk client's own calls that carry one of our API keys as `Authorization: Bearer <key>`
 * (`rustdesk --assign --token <key>`, src/core_main.rs) rather than in X-API-Key, where the global
 * guard's bearer authenticator would read it as an access token. Use with @Public(), so the global
 * guard lets the request through to this one, which applies the same key checks (ApiKeyAuthenticator)
 * and the permission table.
 */
export const RequireBearerApiKey = (permission: Permission): MethodDecorator & ClassDecorator =>
  SetMetadata(BEARER_API_KEY_PERMISSION, permission);

@Injectable()
export class BearerApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeyAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(BEARER_API_KEY_PERMISSION, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (permission === undefined) throw new Error('BearerApiKeyGuard used without @RequireBearerApiKey');
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (\S+)$/i.exec(header.trim()) : null;
    if (match?.[1] === undefined) throw new UnauthorizedException('An API key is required (--token)');
    const principal = await this.apiKeys.authenticateKey(match[1], request.ip ?? null);
    if (!roleMayUse(principal.role, principal.channel))
      throw new ForbiddenException(`The ${principal.role} role cannot use the API`);
    if (!roleHas(principal.role, permission))
      throw new ForbiddenException(`The API key lacks the ${permission} permission`);
    request.principal = principal;
    return true;
  }
}
