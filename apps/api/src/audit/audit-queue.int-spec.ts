import { randomBytes } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  AUDIT_QUEUE_NAME,
  AuditQueueProducer,
  type AuditQueueProducerOptions,
  auditQueuePrefix,
} from '@switchboard/audit-queue';
import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';
import { metric, readUntil, TcpProxy } from '@switchboard/test-net';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { signInAs, startTestApp } from '../../test/api-test-harness';
import { AuditQueueWorker } from './audit-queue.worker';
import { MetricsRegistry } from '../metrics/metrics.registry';

// The data plane's audit trail end to end: a producer (as signal and relay run it) → BullMQ in the
// real Redis → the api's worker → the hash chain in Postgres.

const REDIS_URL = 'redis://127.0.0.1:6379';
const REDIS_KEY_PREFIX = `sb-test-auditq-${randomBytes(4).toString('hex')}`;
const logger = createLogger({ name: 'audit-queue-test', level: 'silent' });

describe('audit queue: data plane → api worker → chain', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let prisma: PrismaClient;
  let redis: Redis;
  let queue: Queue;
  const producers: AuditQueueProducer[] = [];

  function producer(options: Partial<AuditQueueProducerOptions> = {}): {
    producer: AuditQueueProducer;
    registry: Registry;
  } {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const created = new AuditQueueProducer({
      redisUrl: REDIS_URL,
      redisKeyPrefix: REDIS_KEY_PREFIX,
      actorId: 'signal',
      logger,
      registry,
      retryDelayMs: 100,
      ...options,
    });
    producers.push(created);
    return { producer: created, registry };
  }

  const entries = (action: string) =>
    prisma.auditEntry.findMany({ where: { action }, orderBy: { seq: 'asc' } });

  async function apiMetric(outcome: string): Promise<number> {
    // What the ops port serves (main.ts); the operator port has no /metrics.
    const text = await app.get(MetricsRegistry).render();
    const line = text
      .split('\n')
      .find(
        (row) =>
          row.startsWith('switchboard_api_audit_queue_jobs_total') && row.includes(`outcome="${outcome}"`),
      );
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url, REDIS_KEY_PREFIX });
    prisma = createPrismaClient(database.url);
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue(AUDIT_QUEUE_NAME, { connection: redis, prefix: auditQueuePrefix(REDIS_KEY_PREFIX) });
  });

  afterAll(async () => {
    await Promise.all(producers.map((each) => each.close(500)));
    await app?.close();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    redis?.disconnect();
    await prisma?.$disconnect();
    await database?.drop();
  });

  it('appends what signal records, as a system entry in an intact chain', async () => {
    const { producer: signal, registry } = producer();
    signal.record({
      action: 'device.link_closed',
      deviceId: '123456789',
      reason: 'banned',
      ip: '198.51.100.7',
    });
    const [entry] = await readUntil(
      () => entries('device.link_closed'),
      (rows) => rows.length > 0,
    );
    expect(entry).toMatchObject({
      actorType: 'system',
      actorId: 'signal',
      action: 'device.link_closed',
      targetType: 'device',
      targetId: '123456789',
      ip: '198.51.100.7',
      details: { reason: 'banned', jobId: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    });
    expect(Math.abs(entry!.at.getTime() - Date.now())).toBeLessThan(10_000);
    expect(await metric(registry, 'switchboard_audit_queue_enqueued_total')).toBe(1);
    expect(await apiMetric('appended')).toBeGreaterThanOrEqual(1);
    const admin = await signInAs(app, 'admin');
    const verify = await app.inject({
      method: 'POST',
      url: '/api/v1/audit/verify',
      headers: { authorization: admin.authorization },
    });
    expect(verify.json()).toMatchObject({ ok: true });
  });

  it('stamps a queued entry with the api’s time, keeping the producer’s only as reportedAt', async () => {
    const job = {
      v: 1,
      at: '2001-01-01T00:00:00.000Z',
      actorType: 'system',
      actorId: 'signal',
      action: 'device.link_closed',
      targetType: 'device',
      targetId: '303030303',
      ip: null,
      details: { reason: 'banned' },
    };
    await queue.add('device.link_closed', job, { jobId: 'skewed-clock-1' });
    const [entry] = await readUntil(
      () => prisma.auditEntry.findMany({ where: { targetId: '303030303' } }),
      (rows) => rows.length > 0,
    );
    expect(Math.abs(entry!.at.getTime() - Date.now())).toBeLessThan(60_000);
    expect(entry!.details).toMatchObject({ reason: 'banned', reportedAt: '2001-01-01T00:00:00.000Z' });
  });

  it('appends a relay node’s ban cut under its own actor', async () => {
    const { producer: relay } = producer({ actorId: 'relay:node-7' });
    relay.record({
      action: 'relay.session_closed_by_ban',
      uuid: '67e55044-10b1-426f-9247-bb680e5fe0c8',
      devices: ['111111111', '222222222'],
    });
    const [entry] = await readUntil(
      () => entries('relay.session_closed_by_ban'),
      (rows) => rows.length > 0,
    );
    expect(entry).toMatchObject({
      actorType: 'system',
      actorId: 'relay:node-7',
      targetType: 'relay_session',
      targetId: '67e55044-10b1-426f-9247-bb680e5fe0c8',
      ip: null,
      details: { devices: ['111111111', '222222222'] },
    });
  });

  it('drops a job that is not a data-plane entry at once, without retrying it, and counts it', async () => {
    const before = await apiMetric('invalid');
    const forged = {
      v: 1,
      at: new Date().toISOString(),
      actorType: 'user',
      actorId: 'admin',
      action: 'user.role_changed',
      targetType: 'user',
      targetId: 'mallory',
      ip: null,
      details: { role: 'admin' },
    };
    await queue.add('forged', forged, {
      jobId: 'forged-1',
      attempts: 5,
      backoff: { type: 'fixed', delay: 10 },
    });
    await queue.add('junk', 'not even an object', { jobId: 'junk-1', attempts: 5 });
    const states = await readUntil(
      async () => [await queue.getJobState('forged-1'), await queue.getJobState('junk-1')],
      (both) => both.every((state) => state === 'failed'),
    );
    expect(states).toEqual(['failed', 'failed']);
    expect((await queue.getJob('forged-1'))?.attemptsMade).toBe(1);
    expect((await queue.getJob('forged-1'))?.failedReason).toBe('invalid audit job');
    expect(await prisma.auditEntry.count({ where: { action: 'user.role_changed' } })).toBe(0);
    expect(await apiMetric('invalid')).toBe(before + 2);
  });

  it('appends a job added twice under the same jobId (a retried enqueue) once', async () => {
    const job = {
      v: 1,
      at: new Date().toISOString(),
      actorType: 'system',
      actorId: 'signal',
      action: 'device.link_closed',
      targetType: 'device',
      targetId: '777777777',
      ip: null,
      details: { reason: 'deleted' },
    };
    await queue.add('device.link_closed', job, { jobId: 'retried-1' });
    await readUntil(
      () => queue.getJobState('retried-1'),
      (state) => state === 'completed',
    );
    await queue.add('device.link_closed', job, { jobId: 'retried-1' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await prisma.auditEntry.count({ where: { targetId: '777777777' } })).toBe(1);
  });

  it('recognises a retried job whose first attempt did append, and does not append it again', async () => {
    const worker = app.get(AuditQueueWorker);
    const data = {
      v: 1,
      at: new Date().toISOString(),
      actorType: 'system',
      actorId: 'signal',
      action: 'device.link_closed',
      targetType: 'device',
      targetId: '121212121',
      ip: null,
      details: { reason: 'banned' },
    };
    // What BullMQ hands the processor, first on the original attempt, then on a retry of it.
    const attempt = (attemptsStarted: number) =>
      ({ id: 'dup-1', name: data.action, data, attemptsStarted }) as Job;
    expect(await worker.process(attempt(1))).toBe('appended');
    expect(await worker.process(attempt(2))).toBe('duplicate');
    expect(await worker.process({ ...attempt(2), id: 'dup-2' } as Job)).toBe('appended');
    expect(await prisma.auditEntry.count({ where: { targetId: '121212121' } })).toBe(2);
  });

  it('buffers while Redis is unreachable and delivers once it is back', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', 6379);
    const { producer: signal, registry } = producer({ redisUrl: proxy.url });
    await proxy.cut();
    const started = Date.now();
    signal.record({
      action: 'device.link_closed',
      deviceId: '888888888',
      reason: 'revoked',
      ip: '203.0.113.8',
    });
    // record() returned at once although nothing could be sent.
    expect(Date.now() - started).toBeLessThan(50);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(signal.buffered).toBe(1);
    expect(await metric(registry, 'switchboard_audit_queue_buffered')).toBe(1);
    expect(await prisma.auditEntry.count({ where: { targetId: '888888888' } })).toBe(0);
    await proxy.restore();
    const rows = await readUntil(
      () => prisma.auditEntry.findMany({ where: { targetId: '888888888' } }),
      (found) => found.length > 0,
      15_000,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'device.link_closed', details: { reason: 'revoked' } });
    expect(signal.buffered).toBe(0);
    await signal.close(500);
    await proxy.cut();
  });

  it('holds at most maxBuffered entries while Redis is away and counts the rest as dropped', async () => {
    const { producer: signal, registry } = producer({ redisUrl: 'redis://127.0.0.1:1', maxBuffered: 3 });
    for (let i = 0; i < 5; i++) {
      signal.record({ action: 'device.link_closed', deviceId: `99999999${i}`, reason: 'banned', ip: '::1' });
    }
    expect(signal.buffered).toBe(3);
    expect(await metric(registry, 'switchboard_audit_queue_dropped_total', { reason: 'buffer-full' })).toBe(
      2,
    );
    await signal.close(200);
    expect(await metric(registry, 'switchboard_audit_queue_dropped_total', { reason: 'shutdown' })).toBe(3);
  });

  it('coalesces a flood of refusals into one entry now and one with the count', async () => {
    const { producer: signal, registry } = producer();
    for (let i = 0; i < 500; i++) {
      signal.record({
        action: 'device.registration_refused',
        deviceId: '555555555',
        reason: 'banned',
        ip: '192.0.2.66',
      });
    }
    signal.record({
      action: 'device.registration_refused',
      deviceId: '555555555',
      reason: 'pending',
      ip: '192.0.2.66',
    });
    await readUntil(
      () => entries('device.registration_refused'),
      (rows) => rows.length >= 2,
    );
    signal.flushWindows();
    const rows = await readUntil(
      () => entries('device.registration_refused'),
      (found) => found.length >= 3,
    );
    expect(rows.map((row) => [row.targetId, row.details])).toEqual([
      ['555555555', expect.objectContaining({ reason: 'banned', count: 1 })],
      ['555555555', expect.objectContaining({ reason: 'pending', count: 1 })],
      ['555555555', expect.objectContaining({ reason: 'banned', count: 499 })],
    ]);
    expect(rows[0]).toMatchObject({ actorType: 'system', actorId: 'signal', ip: '192.0.2.66' });
    expect(await metric(registry, 'switchboard_audit_queue_coalesced_total')).toBe(499);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await entries('device.registration_refused')).toHaveLength(3);
  });
});
