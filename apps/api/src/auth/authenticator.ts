import { type FastifyRequest } from 'fastify';

import { type Principal } from './principal';

/**
 * One way of proving who you are (API key, bearer access token, session cookie). The AccessGuard asks
 * each in turn; the first whose credential is present on the request decides.
 */
export interface Authenticator {
  /** Whether the request carries this kind of credential at all (valid or not). */
  presentIn(request: FastifyRequest): boolean;
  /** The principal, or throws UnauthorizedException for a credential that is invalid, expired or revoked. */
  authenticate(request: FastifyRequest): Promise<Principal>;
  /**
   * Extra checks for a state-changing request (POST, PUT, PATCH, DELETE) made with this credential:
   * the cookie session checks CSRF and Origin here. Throws ForbiddenException to refuse.
   */
  checkStateChange?(request: FastifyRequest, principal: Principal): void | Promise<void>;
}

/** Multi-provider token for the ordered list of authenticators. */
export const AUTHENTICATORS = Symbol('Authenticators');

export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
