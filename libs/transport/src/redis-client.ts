import { Redis } from 'ioredis';

import { type Logger } from '@switchboard/observability';

/**
 * A lazily connected Redis client. The data plane must start and keep serving while Redis is down
 * (docs/architecture.md "Services"), so nothing here blocks start-up; readiness reports the outage instead.
 */
export interface RedisClientOptions {
  /**
   * Send the commands issued in one turn of the event loop as one write (ioredis auto-pipelining):
   * for a client on a hot path, such as the relay's ticket reads, fewer syscalls on both ends.
   */
  autoPipelining?: boolean;
}

export function createRedisClient(url: string, logger: Logger, options: RedisClientOptions = {}): Redis {
  const redis = new Redis(url, {
    enableAutoPipelining: options.autoPipelining ?? false,
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
    // Fail commands at once while disconnected instead of queueing them behind a dead link.
    enableOfflineQueue: false,
  });
  let lastError: string | undefined;
  redis.on('error', (error: Error) => {
    // ioredis retries forever; log each distinct failure once, not every retry.
    if (error.message === lastError) return;
    lastError = error.message;
    logger.warn({ err: error }, 'Redis connection error');
  });
  redis.on('ready', () => {
    if (lastError !== undefined) logger.info('Redis connection restored');
    lastError = undefined;
  });
  return redis;
}

/** Connects on first use; afterwards a PING proves the link works. */
export async function pingRedis(redis: Redis): Promise<void> {
  if (redis.status === 'wait') await redis.connect();
  await redis.ping();
}
