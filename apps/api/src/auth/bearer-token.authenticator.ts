import { Injectable, UnauthorizedException } from '@nestjs/common';
import { RefreshTokenRepository, UserRepository } from '@switchboard/data-access';
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
 * issued before the user's last password change or login revocation is dead (token-cutoff.ts), and
 * so is one whose refresh-token family was ended (logout, reuse detected): one indexed lookup, run
 * beside the user's.
 */
@Injectable()
export class BearerTokenAuthenticator implements Authenticator {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly users: UserRepository,
    private readonly refreshTokens: RefreshTokenRepository,
  ) {}

  presentIn(request: FastifyRequest): boolean {
    const header = request.headers.authorization;
    return typeof header === 'string' && BEARER_SCHEME.test(header);
  }

  async authenticate(request: FastifyRequest): Promise<Principal> {
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (match?.[1] === undefined) throw new UnauthorizedException('Malformed Authorization header');
    const claims = await this.tokens.verify(match[1], 'access');
    // Tokens from before families were named in them: automation refreshes once.
    if (claims.familyId === undefined) throw new UnauthorizedException('Invalid or expired token');
    const [user, familyRevoked] = await Promise.all([
      this.users.findById(claims.sub),
      this.refreshTokens.isFamilyRevoked(claims.familyId),
    ]);
    if (user === null || user.disabled) throw new UnauthorizedException('Invalid or expired token');
    if (familyRevoked || claims.issuedAtMs < tokensIssuedBefore(user)) {
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
