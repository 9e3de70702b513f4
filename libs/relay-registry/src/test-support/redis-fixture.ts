import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import { createLogger } from '@switchboard/observability';
import { createRedisClient } from '@switchboard/transport';

import { RelayRecordKey } from '../relay-record-key';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * A unique key prefix per test on the real Redis, the clients the test opened, and cleanup of both.
 * Clients are made as services make them (lazy, no offline queue), so tests see production failure modes.
 */
export class RedisFixture {
  readonly prefix = `test:relay-registry:${randomUUID()}`;
  /** A plain client for arranging and inspecting keys. */
  readonly admin = new Redis(REDIS_URL);
  /** The key signal and the relays share in this test. */
  readonly recordKey = RelayRecordKey.generate();
  private readonly clients: Redis[] = [];

  serviceClient(url: string = REDIS_URL): Redis {
    const client = createRedisClient(url, createLogger({ name: 'test', level: 'silent' }));
    this.clients.push(client);
    return client;
  }

  key(suffix: string): string {
    return `${this.prefix}:${suffix}`;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    const keys = await this.admin.keys(`${this.prefix}:*`);
    if (keys.length > 0) await this.admin.del(...keys);
    await this.admin.quit();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
