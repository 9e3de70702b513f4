import { type Redis } from 'ioredis';

const connecting = new WeakMap<Redis, Promise<void>>();

/**
 * Services open Redis lazily with the offline queue off (libs/transport createRedisClient), so the
 * first command on an unopened client would fail instead of connecting. This opens it once, shared
 * by every caller; afterwards ioredis reconnects on its own.
 */
export function connectIfLazy(redis: Redis): Promise<void> {
  if (redis.status === 'wait') {
    const opened = redis.connect();
    connecting.set(redis, opened);
    return opened;
  }
  // Callers arriving during that first connect wait for it rather than fail fast.
  if (redis.status === 'ready') return Promise.resolve();
  return connecting.get(redis) ?? Promise.resolve();
}
