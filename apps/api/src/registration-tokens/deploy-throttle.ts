import { Inject, Injectable } from '@nestjs/common';
import { rateLimitKey } from '@switchboard/transport';

import { API_CONFIG } from '../app.tokens';
import { type ApiConfig } from '../config';
import { TooManyRequestsException } from '../errors/too-many-requests.exception';
import { RedisConnection } from '../redis/redis.connection';

/** The failures of this IP in the current window; the one that reached the limit is the one to audit. */
export interface DeployFailureCount {
  readonly failures: number;
  readonly limitReached: boolean;
}

/**
 * Guessing registration tokens through the client's public deploy call: deploys with an unknown
 * token are counted per client network (rateLimitKey: an IPv6 client's whole /64) in a fixed window in Redis (every api replica shares it). Once an
 * IP reaches DEPLOY_IP_MAX_FAILURES it gets 429 with Retry-After until the window ends, before any
 * token lookup, so a flood of guesses costs one Redis read each and no longer an audit entry each.
 */
@Injectable()
export class DeployThrottle {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisConnection,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {
    this.prefix = `${config.REDIS_KEY_PREFIX}:deploy:ip`;
  }

  /** Throws 429 while `ip` is over the limit; a request with no known IP is never throttled. */
  async assertAllowed(ip: string | null): Promise<void> {
    if (ip === null) return;
    const key = this.keyOf(ip);
    const [[, failures], [, ttlMs]] = (await this.redis.client.multi().get(key).pttl(key).exec()) as [
      [Error | null, string | null],
      [Error | null, number],
    ];
    if (Number(failures ?? 0) < this.config.DEPLOY_IP_MAX_FAILURES) return;
    throw new TooManyRequestsException(
      'Too many deploys with an invalid registration token; try again later',
      Math.max(1, Math.ceil(ttlMs / 1000)),
    );
  }

  async countFailure(ip: string | null): Promise<DeployFailureCount> {
    if (ip === null) return { failures: 0, limitReached: false };
    const key = this.keyOf(ip);
    const [[, failures]] = (await this.redis.client
      .multi()
      .incr(key)
      // NX: the window starts with its first failure and is not pushed back by later ones.
      .pexpire(key, this.config.DEPLOY_FAILURE_WINDOW_SECONDS * 1000, 'NX')
      .exec()) as [[Error | null, number]];
    return { failures, limitReached: failures === this.config.DEPLOY_IP_MAX_FAILURES };
  }

  private keyOf(ip: string): string {
    return `${this.prefix}:${rateLimitKey(ip, this.config.RATE_LIMIT_IPV6_PREFIX)}`;
  }
}
