import { ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';

import { API_CONFIG } from '../app.tokens';
import { type ApiConfig } from '../config';

/**
 * Where a browser request came from must be where the console is served: PUBLIC_URL's origin when it
 * is set (behind a proxy the Host header may be internal), else the request's own scheme and Host.
 * Origin is used, or the Referer's origin when a browser left Origin out; a request with neither,
 * or with `Origin: null` (sandboxed frames, some redirects), is refused.
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
    if (claimed !== this.expectedOrigin(request)) {
      throw new ForbiddenException('Origin check failed: the request comes from another site');
    }
  }

  /** For public browser endpoints (login): only a request that names a foreign origin is refused. */
  checkIfPresent(request: FastifyRequest): void {
    if (claimedOrigin(request) !== undefined) this.check(request);
  }

  private expectedOrigin(request: FastifyRequest): string {
    return this.publicOrigin ?? originOf(`${request.protocol}://${request.host}`);
  }
}

function claimedOrigin(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  if (typeof origin === 'string' && origin !== '') return origin === 'null' ? 'null' : originOf(origin);
  const referer = request.headers.referer;
  if (typeof referer === 'string' && referer !== '') return originOf(referer);
  return undefined;
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
