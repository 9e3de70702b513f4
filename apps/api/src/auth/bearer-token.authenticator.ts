import { Injectable, UnauthorizedException } from '@nestjs/common';
import { UserRepository } from '@switchboard/data-access';
import { type FastifyRequest } from 'fastify';

import { AccessTokens } from './access-tokens';
import { type Authenticator } from './authenticator';
import { type Principal } from './principal';
import { tokensIssuedBefore } from './token-cutoff';

// RFC 7235: the scheme name is case-insensitive. Only this scheme is ours: any other Authorization
// header (a proxy's Basic auth, say) leaves the request to the cookie session.
const BEARER_SCHEME = /^bearer /i;
const BEARER = /^bearer ([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * `Authorization: Bearer <access JWT>` for automation. The user row is read on every request, so a
 * disabled user or a changed role takes effect at once rather than when the token expires; a token
 * issued before the user's last password change or login revocation is dead (token-cutoff.ts).
 */
@Injectable()
export class BearerTokenAuthenticator implements Authenticator {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly users: UserRepository,
  ) {}

  presentIn(request: FastifyRequest): boolean {
    const header = request.headers.authorization;
    return typeof header === 'string' && BEARER_SCHEME.test(header);
  }

  async authenticate(request: FastifyRequest): Promise<Principal> {
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (match?.[1] === undefined) throw new UnauthorizedException('Malformed Authorization header');
    const claims = await this.tokens.verify(match[1], 'access');
    const user = await this.users.findById(claims.sub);
    if (user === null || user.disabled) throw new UnauthorizedException('Invalid or expired token');
    if (claims.issuedAtMs < tokensIssuedBefore(user)) {
      throw new UnauthorizedException('Token revoked');
    }
    return {
      userId: user.id,
      username: user.username,
      role: user.role,
      channel: 'api',
      credential: 'access_token',
      passwordMustChange: user.passwordMustChange,
    };
  }
}
