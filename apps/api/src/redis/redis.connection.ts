import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { type Logger } from '@switchboard/observability';
import { Redis } from 'ioredis';

import { API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { DependencyUnavailableError } from '../health/dependency-unavailable.error';

/**
 * Owns the api's Redis client. ioredis reconnects on its own; we log the first failure and the
 * recovery rather than every retry, and /readyz reports the state in between.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis;
  private readonly log: Logger;
  private failing = false;

  constructor(@Inject(API_CONFIG) config: ApiConfig, @Inject(API_LOGGER) logger: Logger) {
    this.log = logger.child({ component: 'redis' });
    this.client = new Redis(config.REDIS_URL, { connectionName: 'switchboard-api', maxRetriesPerRequest: 2 });
    this.client.on('error', (error: Error) => {
      if (this.failing) return;
      this.failing = true;
      this.log.warn({ err: error }, 'redis connection failed; retrying');
    });
    this.client.on('ready', () => {
      if (!this.failing) return;
      this.failing = false;
      this.log.info('redis connection restored');
    });
  }

  get connected(): boolean {
    return this.client.status === 'ready';
  }

  async ping(): Promise<void> {
    // Commands issued between retries would queue until a reconnect; answer "down" at once instead.
    // While the first connection is still being made, the PING waits for it (bounded by the check timeout).
    if (['reconnecting', 'close', 'end'].includes(this.client.status)) {
      throw new DependencyUnavailableError(`not connected (${this.client.status})`);
    }
    try {
      await this.client.ping();
    } catch (error) {
      // A Redis reply error starts with its code (NOAUTH, LOADING, ...); anything else is the connection.
      const { name, message } = error as Error;
      const reason = name === 'ReplyError' ? `replied ${message.split(' ')[0]}` : 'unreachable';
      throw new DependencyUnavailableError(reason, { cause: error });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.connected) {
      await this.client.quit();
    } else {
      this.client.disconnect();
    }
    this.log.debug('redis connection closed');
  }
}
