import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { type Environment } from '@switchboard/config';
import { createLogger } from '@switchboard/observability';
import { TcpProxy } from '@switchboard/test-net';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { Redis } from 'ioredis';

import { TEST_EVENT_SIGNING_KEY, testApiConfig, testSecrets } from '../../test/api-test-harness';
import { ManualClock } from '../../test/manual-clock';
import { metricSample } from '../../test/metric-samples';
import { createApiApp } from '../create-app';
import { type ApiSecrets } from '../secrets';
import { AuditChainMonitor, auditVerifyKeys } from './audit-chain-monitor';
import { AuditLog } from './audit-log';

// The background verification of the whole audit chain: one replica walks it per interval (a Redis
// lock), every replica exports the newest result, tampering shows as ok=0 on the next run, and a run
// that cannot reach Postgres changes nothing but the log.
describe('periodic audit chain verification', () => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let redis: Redis;
  let secrets: ApiSecrets;
  const apps: NestFastifyApplication[] = [];
  const clock = new ManualClock(new Date('2031-06-01T00:00:00Z'));
  const prefix = `test-audit-verify-${process.pid}-${Date.now()}`;

  /** A replica: the same database, Redis prefix and secrets as its siblings unless told otherwise. */
  async function replica(env: Environment = {}): Promise<NestFastifyApplication> {
    const config = testApiConfig({ DATABASE_URL: database.url, REDIS_KEY_PREFIX: prefix, ...env });
    const app = await createApiApp({
      config,
      logger: createLogger({ name: 'api-test', level: 'silent' }),
      secrets,
      eventSigningKey: TEST_EVENT_SIGNING_KEY,
      clock,
    });
    apps.push(app);
    return app;
  }

  const gauges = async (app: NestFastifyApplication) => ({
    ok: await metricSample(app, 'switchboard_api_audit_chain_verified_ok'),
    at: await metricSample(app, 'switchboard_api_audit_chain_verified_timestamp_seconds'),
    entries: await metricSample(app, 'switchboard_api_audit_chain_entries'),
    duration: await metricSample(app, 'switchboard_api_audit_chain_verify_duration_seconds'),
  });
  /** The interval's lock expires by itself; the tests open the next interval at once. */
  const nextInterval = (keyPrefix = prefix) => redis.del(auditVerifyKeys(keyPrefix).lock);

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = createPrismaClient(database.url);
    redis = new Redis('redis://127.0.0.1:6379');
    secrets = await testSecrets();
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const keyPrefix of [prefix, `${prefix}-outage`, `${prefix}-timer`]) {
      const { lock, result } = auditVerifyKeys(keyPrefix);
      await redis.del(lock, result);
    }
    redis.disconnect();
    await prisma?.$disconnect();
    await database?.drop();
  });

  it('exports NaN until a run, then the result of whichever replica ran, on every replica', async () => {
    const first = await replica();
    const second = await replica();
    for (let i = 0; i < 5; i++) {
      await first.get(AuditLog).record({ actorType: 'system', actorId: 'test', action: 'test.entry' });
    }
    const entries = await prisma.auditEntry.count();
    expect(entries).toBeGreaterThanOrEqual(5);

    const before = await gauges(first);
    expect(before.ok).toBeNaN();
    expect(before.at).toBeNaN();

    expect(await first.get(AuditChainMonitor).run()).toBe('verified');
    // The interval is taken: the other replica does not walk the chain again ...
    expect(await second.get(AuditChainMonitor).run()).toBe('skipped');
    // ... and exports the same result, read from Redis.
    const expected = {
      ok: 1,
      at: clock.now().getTime() / 1000,
      entries,
      duration: expect.any(Number),
    };
    expect(await gauges(first)).toEqual(expected);
    expect(await gauges(second)).toEqual(expected);
  });

  it('reports a row tampered with in SQL on the next run, records it, and ignores a forged result', async () => {
    const [first, second] = apps as [NestFastifyApplication, NestFastifyApplication];
    await prisma.$executeRawUnsafe(`UPDATE audit_entries SET details = '{"edited":true}' WHERE seq = 2`);
    clock.advanceSeconds(900);
    await nextInterval();
    expect(await second.get(AuditChainMonitor).run()).toBe('verified');
    expect(await gauges(first)).toMatchObject({ ok: 0, at: clock.now().getTime() / 1000, entries: 1 });
    expect(await gauges(second)).toMatchObject({ ok: 0, entries: 1 });
    const recorded = await prisma.auditEntry.findFirst({
      where: { action: 'audit.verified' },
      orderBy: { seq: 'desc' },
    });
    expect(recorded).toMatchObject({
      actorType: 'system',
      actorId: 'api',
      details: { ok: false, brokenSeq: '2', reason: 'hash mismatch', scheduled: true },
    });

    // Someone who can write Redis but holds no audit key cannot paint the chain green.
    const forged = JSON.stringify({ ok: true, finishedAt: 4_000_000_000, durationSeconds: 1, entries: 9 });
    await redis.set(auditVerifyKeys(prefix).result, JSON.stringify({ body: forged, mac: '00'.repeat(32) }));
    expect(await gauges(first)).toMatchObject({ ok: 0, entries: 1 });
  });

  it('keeps the last result and the process when Postgres is unreachable during a run', async () => {
    const postgres = await TcpProxy.start('127.0.0.1', 5432);
    try {
      const throughProxy = new URL(database.url);
      throughProxy.port = String(postgres.port);
      // A chain of its own Redis prefix, so this replica's interval is not the others'.
      const ownPrefix = `${prefix}-outage`;
      const app = await replica({ DATABASE_URL: throughProxy.toString(), REDIS_KEY_PREFIX: ownPrefix });
      await prisma.$executeRawUnsafe(`TRUNCATE audit_entries, audit_chain_head`);
      await app.get(AuditLog).record({ actorType: 'system', actorId: 'test', action: 'test.entry' });
      expect(await app.get(AuditChainMonitor).run()).toBe('verified');
      const good = await gauges(app);
      expect(good).toMatchObject({ ok: 1, entries: 1 });

      await postgres.cut();
      clock.advanceSeconds(900);
      await nextInterval(ownPrefix);
      expect(await app.get(AuditChainMonitor).run()).toBe('failed');
      expect(await gauges(app)).toEqual(good);
      // The interval's lock is shortened, so the chain is tried again within a minute, not 15.
      const lockTtl = await redis.pttl(auditVerifyKeys(ownPrefix).lock);
      expect(lockTtl).toBeGreaterThan(0);
      expect(lockTtl).toBeLessThanOrEqual(60_000);
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await postgres.restore();
      await postgres.close();
    }
  });

  it('runs on its own every AUDIT_VERIFY_INTERVAL_SECONDS', async () => {
    const app = await replica({ AUDIT_VERIFY_INTERVAL_SECONDS: '1', REDIS_KEY_PREFIX: `${prefix}-timer` });
    const deadline = Date.now() + 15_000;
    while (Number.isNaN((await gauges(app)).ok)) {
      if (Date.now() > deadline) throw new Error('no background run within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((await gauges(app)).entries).toBeGreaterThanOrEqual(1);
  });
});
