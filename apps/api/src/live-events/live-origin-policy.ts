import { type IncomingHttpHeaders } from 'node:http';

import { Inject, Injectable } from '@nestjs/common';

import { API_CONFIG } from '../app.tokens';
import { type ApiConfig } from '../config';

const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Which pages may open the live stream: the rules of auth/origin-policy.ts (PUBLIC_URL's origin; without
 * it, a loopback origin naming the request's own Host) plus LIVE_ORIGINS. A browser always sends Origin
 * on a WebSocket upgrade, and cookies ride along whatever page opens it (SameSite=Lax does not cover
 * WebSockets the way it covers a cross-site POST), so this is what keeps another site's script from
 * reading a signed-in operator's stream. No Origin, `null` or anything else is refused.
 */
@Injectable()
export class LiveOriginPolicy {
  private readonly publicOrigin: string | undefined;
  private readonly extra: ReadonlySet<string>;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.publicOrigin = config.PUBLIC_URL === undefined ? undefined : originOf(config.PUBLIC_URL);
    this.extra = new Set(config.LIVE_ORIGINS.map(originOf));
  }

  allows(headers: IncomingHttpHeaders): boolean {
    const header = headers.origin;
    if (typeof header !== 'string' || header === '' || header === 'null') return false;
    const claimed = originOf(header);
    if (claimed === INVALID) return false;
    if (this.extra.has(claimed)) return true;
    if (this.publicOrigin !== undefined) return claimed === this.publicOrigin;
    // The one-machine start: the page must be on loopback and name the Host this request went to. The
    // scheme is not compared (a local TLS proxy may sit in front); only this machine serves loopback.
    const url = new URL(claimed);
    return LOOPBACK_HOSTNAMES.has(url.hostname) && url.host === hostOf(headers.host);
  }
}

const INVALID = 'invalid';

/** The normalised origin of a URL, or 'invalid' (which matches nothing). */
function originOf(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return INVALID;
    return url.origin;
  } catch {
    return INVALID;
  }
}

/** Host header as URL.host normalises it (lower case, default port dropped for http). */
function hostOf(host: string | undefined): string {
  if (host === undefined || host === '') return INVALID;
  try {
    return new URL(`http://${host}`).host;
  } catch {
    return INVALID;
  }
}
