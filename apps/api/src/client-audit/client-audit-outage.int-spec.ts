import { randomUUID } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { TcpProxy } from '@switchboard/test-net';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';
import { JSON_HEADERS } from '../../test/device-test-kit';

// With Postgres unreachable an audit post answers 503 {error}: the client retries 5xx with the same
// nonce for two minutes (src/server/connection.rs post_audit_async), so nothing is lost, and the
// retry once Postgres is back stores the record exactly once.
describe('client audit while Postgres is unreachable', () => {
  let database: TestDatabase;
  let postgres: TcpProxy;
  let app: NestFastifyApplication;
  let prisma: PrismaClient;
  const uuid = Buffer.from('outage-machine').toString('base64');

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = createPrismaClient(database.url);
    await prisma.device.create({ data: { rustdeskId: '246810121', uuid: Buffer.from('outage-machine') } });
    postgres = await TcpProxy.start('127.0.0.1', 5432);
    const throughProxy = new URL(database.url);
    throughProxy.port = String(postgres.port);
    app = await startTestApp({ DATABASE_URL: throughProxy.toString() });
  });

  afterAll(async () => {
    await app?.close();
    await postgres?.close();
    await prisma?.$disconnect();
    await database?.drop();
  });

  it('answers 503 {error} with Retry-After, and the retry stores the record once', async () => {
    const record = `{"id":"246810121","uuid":"${uuid}","conn_id":1,"session_id":18446744073709551615,"nonce":"${randomUUID()}","ip":"192.0.2.1","action":"new"}`;
    const post = () =>
      app.inject({ method: 'POST', url: '/api/audit/conn', headers: JSON_HEADERS, payload: record });
    // Warm the pool first, so the cut also breaks connections already open.
    expect((await post()).statusCode).toBe(200);
    await prisma.connectionAudit.deleteMany();

    await postgres.cut();
    try {
      const failed = await post();
      expect(failed.statusCode).toBe(503);
      expect(failed.headers['retry-after']).toBeDefined();
      expect(failed.json()).toEqual({ error: expect.stringMatching(/temporarily unavailable/) });
    } finally {
      await postgres.restore();
    }
    const deadline = Date.now() + 10_000;
    let retried = await post();
    while (retried.statusCode !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      retried = await post();
    }
    expect(retried.statusCode).toBe(200);
    expect(retried.body).toBe('');
    expect(await post()).toMatchObject({ statusCode: 200, body: '' });
    expect(await prisma.connectionAudit.count()).toBe(1);
  });
});
