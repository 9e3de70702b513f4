import { randomBytes } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type Environment } from '@switchboard/config';
import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { type EventPayload, type EventType, eventTypes, RedisEventBus } from '@switchboard/events';
import { createLogger } from '@switchboard/observability';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { Redis } from 'ioredis';

import { startTestApp, TEST_EVENT_SIGNING_KEY } from './api-test-harness';

// Shared by the device administration tests: an app on its own database and Redis prefix, a Prisma
// client to seed and inspect rows, a Redis client to read the relays' deny set, and a subscriber
// that records every event the app publishes.

export const REDIS_URL = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';

export interface ReceivedEvent<T extends EventType = EventType> {
  type: T;
  payload: EventPayload<T>;
}

export class EventRecorder {
  readonly received: ReceivedEvent[] = [];
  private readonly bus: RedisEventBus;

  constructor(prefix: string) {
    this.bus = new RedisEventBus({
      redis: REDIS_URL,
      prefix: `${prefix}:events`,
      verifyKey: TEST_EVENT_SIGNING_KEY.verifyKey,
      logger: createLogger({ name: 'test-events', level: 'silent' }),
    });
    for (const type of eventTypes) {
      this.bus.on(type, (event) => {
        this.received.push({ type: event.type, payload: event.payload });
      });
    }
  }

  start(): Promise<void> {
    return this.bus.start();
  }

  stop(): Promise<void> {
    return this.bus.stop();
  }

  clear(): void {
    this.received.length = 0;
  }

  /** Waits until `count` events arrived (pub/sub is asynchronous even after the HTTP answer). */
  async waitFor(count: number, timeoutMs = 5_000): Promise<ReceivedEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} events, got ${JSON.stringify(this.received)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return [...this.received];
  }
}

export interface DeviceTestKit {
  app: NestFastifyApplication;
  database: TestDatabase;
  prisma: PrismaClient;
  redis: Redis;
  prefix: string;
  deniedKey: string;
  events: EventRecorder;
  denied(): Promise<string[]>;
  close(): Promise<void>;
}

export function uniquePrefix(name: string): string {
  return `sbtest-${name}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Everything but the app, so a test can seed Postgres and Redis before the app starts. */
export async function openKitParts(name: string) {
  const prefix = uniquePrefix(name);
  const database = await createTestDatabase();
  const prisma = createPrismaClient(database.url);
  const redis = new Redis(REDIS_URL);
  return { prefix, database, prisma, redis, deniedKey: `${prefix}:relay:denied-devices` };
}

export async function startKitApp(
  parts: Awaited<ReturnType<typeof openKitParts>>,
  env: Environment = {},
): Promise<NestFastifyApplication> {
  return startTestApp({
    DATABASE_URL: parts.database.url,
    REDIS_KEY_PREFIX: parts.prefix,
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    ...env,
  });
}

export async function openDeviceTestKit(name: string): Promise<DeviceTestKit> {
  const parts = await openKitParts(name);
  const events = new EventRecorder(parts.prefix);
  await events.start();
  const app = await startKitApp(parts);
  return {
    ...parts,
    app,
    events,
    denied: async () => (await parts.redis.smembers(parts.deniedKey)).sort(),
    close: async () => {
      await app.close();
      await events.stop();
      await parts.redis.del(parts.deniedKey);
      parts.redis.disconnect();
      await parts.prisma.$disconnect();
      await parts.database.drop();
    },
  };
}

export const JSON_HEADERS = { 'content-type': 'application/json' };

/** Audit entries as stored, oldest first; of one action and target when given. */
export async function auditEntries(prisma: PrismaClient, action?: string, targetId?: string) {
  return prisma.auditEntry.findMany({
    where: { ...(action ? { action } : {}), ...(targetId ? { targetId } : {}) },
    orderBy: { seq: 'asc' },
  });
}
