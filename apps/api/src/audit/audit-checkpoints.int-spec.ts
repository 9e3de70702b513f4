import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { Redis } from 'ioredis';

import { type SignedInUser, signInAs, startTestApp } from '../../test/api-test-harness';
import { checkpointRedisKey } from './audit-checkpoint-stores';
import { AuditCheckpoints } from './audit-checkpoints';
import { AuditLog } from './audit-log';

// Issue 10 item 5 through the api: the head is checkpointed to Redis and a file, and verify compares
// the chain with both, so emptying the database (entries and head record alike) is still reported.
const REDIS_KEY_PREFIX = `sb-test-auditcp-${randomBytes(4).toString('hex')}`;

describe('audit checkpoints outside Postgres', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let prisma: PrismaClient;
  let redis: Redis;
  let admin: SignedInUser;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-audit-checkpoint-'));
    file = join(dir, 'audit', 'checkpoint.json');
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url, REDIS_KEY_PREFIX, AUDIT_CHECKPOINT_FILE: file });
    prisma = createPrismaClient(database.url);
    redis = new Redis('redis://127.0.0.1:6379');
    admin = await signInAs(app, 'admin');
    const audit = app.get(AuditLog);
    for (let index = 0; index < 5; index++) {
      await audit.record({
        actorType: 'system',
        actorId: 'test',
        action: 'test.seeded',
        targetId: `${index}`,
      });
    }
  });

  afterAll(async () => {
    await app?.close();
    await redis?.del(checkpointRedisKey(REDIS_KEY_PREFIX));
    redis?.disconnect();
    await prisma?.$disconnect();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const verify = async () =>
    (
      await app.inject({
        method: 'POST',
        url: '/api/v1/audit/verify',
        headers: { authorization: admin.authorization },
      })
    ).json<Record<string, unknown>>();

  it('writes the signed head to Redis and the file, and verify compares the chain with both', async () => {
    const checkpoint = await app.get(AuditCheckpoints).checkpoint();
    expect(checkpoint?.seq).toBe(5n);
    const inFile = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    const inRedis = JSON.parse((await redis.get(checkpointRedisKey(REDIS_KEY_PREFIX))) ?? '{}') as unknown;
    expect(inFile).toMatchObject({ v: 1, seq: '5', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(inRedis).toEqual(inFile);
    expect(await verify()).toMatchObject({ ok: true, headSeq: '5', checkpoints: ['redis', 'file'] });
  });

  it('reports the log emptied with its head record as a missing tail, naming the last good seq', async () => {
    await prisma.$executeRawUnsafe('TRUNCATE audit_entries');
    await prisma.$executeRawUnsafe('DELETE FROM audit_chain_head');
    expect(await verify()).toMatchObject({
      ok: false,
      checked: 0,
      lastGoodSeq: '0',
      firstBroken: { seq: '1', reason: 'missing tail' },
    });
  });

  it('reports the chain written again from seq 1 as restarted, and keeps the checkpoint as evidence', async () => {
    // The verify above appended audit.verified: a new chain from seq 1.
    const before = await readFile(file, 'utf8');
    expect(await verify()).toMatchObject({
      ok: false,
      lastGoodSeq: '0',
      firstBroken: { seq: '1', reason: 'chain restarted' },
    });
    await app.get(AuditCheckpoints).checkpoint();
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('reports a checkpoint someone else wrote into Redis', async () => {
    await redis.set(checkpointRedisKey(REDIS_KEY_PREFIX), '{"v":1,"seq":"1"}');
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: {
        reason: 'checkpoint invalid',
        detail: 'the redis checkpoint is not one this server signed',
      },
    });
  });
  it('gives a chain without a head record (an upgrade) one at start, through an audited append', async () => {
    await prisma.$executeRawUnsafe('DELETE FROM audit_chain_head');
    await app.get(AuditCheckpoints).ensureHeadRecord();
    const entry = await prisma.auditEntry.findFirst({ orderBy: { seq: 'desc' } });
    expect(entry).toMatchObject({ actorType: 'system', actorId: 'api', action: 'audit.head_created' });
    expect(await prisma.auditChainHead.findUnique({ where: { id: 1 } })).toMatchObject({ seq: entry?.seq });
    // Once there, nothing more is appended.
    await app.get(AuditCheckpoints).ensureHeadRecord();
    expect(await prisma.auditEntry.count({ where: { action: 'audit.head_created' } })).toBe(1);
  });
});
