import { Inject, Injectable } from '@nestjs/common';

import { API_CONFIG } from '../app.tokens';
import { type ApiConfig } from '../config';
import { RedisConnection } from '../redis/redis.connection';
import { MFA_TOKEN_TTL_SECONDS } from './access-tokens';

/**
 * MFA tokens that have completed a login, by their `jti`, in Redis so every replica sees them: each
 * token signs in once. A marker outlives the token it names (it is set after the token was issued),
 * so nothing needs cleaning up.
 */
@Injectable()
export class SpentMfaTokens {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisConnection,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.prefix = `${config.REDIS_KEY_PREFIX}:mfa-spent`;
  }

  /** True the first time for a token id, false ever after: of two racing logins exactly one wins. */
  async spend(tokenId: string): Promise<boolean> {
    const set = await this.redis.client.set(
      `${this.prefix}:${tokenId}`,
      '1',
      'PX',
      MFA_TOKEN_TTL_SECONDS * 1000,
      'NX',
    );
    return set === 'OK';
  }
}
