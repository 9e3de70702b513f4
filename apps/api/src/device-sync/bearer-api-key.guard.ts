import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import { ApiKeyBearer } from '../auth/api-key-bearer';
import { type Permission } from '../auth/permissions';
import { type AuthenticatedRequest } from '../auth/route-access';

const BEARER_API_KEY_PERMISSION = 'switchboard:bearer-api-key-permission';

/**
 * For a route that takes nothing but one of our API keys as `Authorization: Bearer <key>`
 * (`rustdesk --assign --token <key>`, src/core_main.rs). Use with @Public(), so the global guard lets
 * the request through to this one; the key checks themselves are ApiKeyBearer's
 * (auth/api-key-bearer.ts), shared with deploy.
 */
export const RequireBearerApiKey = (permission: Permission): MethodDecorator & ClassDecorator =>
  SetMetadata(BEARER_API_KEY_PERMISSION, permission);

@Injectable()
export class BearerApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly bearer: ApiKeyBearer,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(BEARER_API_KEY_PERMISSION, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (permission === undefined) throw new Error('BearerApiKeyGuard used without @RequireBearerApiKey');
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    request.principal = await this.bearer.require(
      request.headers.authorization,
      request.ip ?? null,
      permission,
    );
    return true;
  }
}
