import { ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';

import { API_CONFIG } from '../app.tokens';
import { type ApiConfig } from '../config';

/** Without PUBLIC_URL the console is served only on these names (the one-machine start). */
const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Where a browser request came from must be where the console is served: PUBLIC_URL's origin. Without
 * it, only a loopback origin that is also the request's own scheme and Host: a Host header is the
 * client's to choose (DNS rebinding, a proxy passing it through), so it never vouches for a name of
 * its own. Origin is used, or the Referer's origin when a browser left Origin out; a request with
 * neither, or with `Origin: null` (sandboxed frames, some redirects), is refused.
 */
@Injectable()
export class OriginPolicy {
  private readonly publicOrigin: string | undefined;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.publicOrigin = config.PUBLIC_URL === undefined ? undefined : new URL(config.PUBLIC_URL).origin;
  }

  /** Throws 403 unless the request's origin is the console's own. */
  check(request: FastifyRequest): void {
    const claimed = claimedOrigin(request);
    if (claimed === undefined) {
      throw new ForbiddenException('Origin check failed: the request has no Origin or Referer header');
    }
    if (this.publicOrigin !== undefined) {
      if (claimed !== this.publicOrigin) {
        throw new ForbiddenException('Origin check failed: the request comes from another site');
      }
      return;
    }
    if (claimed !== originOf(`${request.protocol}://${request.host}`)) {
      throw new ForbiddenException('Origin check failed: the request comes from another site');
    }
    if (!isLoopback(claimed)) {
      throw new ForbiddenException(
        'Origin check failed: set PUBLIC_URL to the address the console is served at (only localhost works without it)',
      );
    }
  }

  /** For public browser endpoints (login): only a request that names a foreign origin is refused. */
  checkIfPresent(request: FastifyRequest): void {
    if (claimedOrigin(request) !== undefined) this.check(request);
  }
}

function claimedOrigin(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  if (typeof origin === 'string' && origin !== '') return origin === 'null' ? 'null' : originOf(origin);
  const referer = request.headers.referer;
  if (typeof referer === 'string' && referer !== '') return originOf(referer);
  return undefined;
}

function isLoopback(origin: string): boolean {
  try {
    return LOOPBACK_HOSTNAMES.has(new URL(origin).hostname);
  } catch {
    return false;
  }
}

/** The normalised origin of a URL, or 'invalid' (which matches nothing). */
function originOf(url: string): string {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? 'invalid' : origin;
  } catch {
    return 'invalid';
  }
}
