import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';

import { ApiKeyAuthenticator } from '../api-keys/api-key.authenticator';
import { type Permission, roleHas, roleMayUse } from './permissions';
import { type Principal } from './principal';

// The RustDesk client's command-line calls (`rustdesk --deploy --token T`, `rustdesk --assign --token
// T`) can only send `Authorization: Bearer <token>` (src/ui_interface.rs deploy_device,
// src/core_main.rs), and Pro's token there is an API key. This lets such a route take one of our API
// keys in that header. The route itself is @Public() for the guard (the route × role walk and the
// OpenAPI catalog know no other kinds) and asks this in its service, so a route may also accept
// another credential in the same header (deploy: a registration token). Refusals are 401/403
// exceptions, which the client-API filter turns into `{error}`.

/** `Bearer sbk_…`: the scheme is case-insensitive (RFC 7235); the key's own shape is checked later. */
const BEARER_API_KEY = /^bearer +(sbk_\S+) *$/i;

/** The API key in an Authorization header, or undefined when the header holds something else. */
export function apiKeyInBearer(authorization: string | undefined): string | undefined {
  return BEARER_API_KEY.exec(authorization ?? '')?.[1];
}

@Injectable()
export class ApiKeyBearer {
  constructor(private readonly apiKeys: ApiKeyAuthenticator) {}

  /**
   * The key's principal if `authorization` carries an API key that is valid (401 otherwise), may use
   * the API and holds `permission` (403 otherwise); undefined when it carries no API key at all.
   */
  async authorize(
    authorization: string | undefined,
    ip: string | null,
    permission: Permission,
  ): Promise<Principal | undefined> {
    const key = apiKeyInBearer(authorization);
    if (key === undefined) return undefined;
    const principal = await this.apiKeys.authenticateKey(key, ip);
    if (!roleMayUse(principal.role, principal.channel)) {
      throw new ForbiddenException(`The ${principal.role} role cannot use the API`);
    }
    if (principal.passwordMustChange) {
      throw new ForbiddenException("The API key's owner must change their password first");
    }
    if (!roleHas(principal.role, permission))
      throw new ForbiddenException(`Missing permission ${permission}`);
    return principal;
  }

  /** As authorize, but no API key at all is a 401 too: for routes that take nothing else. */
  async require(
    authorization: string | undefined,
    ip: string | null,
    permission: Permission,
  ): Promise<Principal> {
    const principal = await this.authorize(authorization, ip, permission);
    if (principal === undefined) {
      throw new UnauthorizedException('An API key is required (Authorization: Bearer <API key>)');
    }
    return principal;
  }
}
