import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TcpProxy } from '@switchboard/test-net';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { createUser, panelLogin, type TestUser } from '../../test/auth-helpers';
import { startTestApp } from '../../test/api-test-harness';
import { metricSample } from '../../test/metric-samples';
import { OUTAGE_RETRY_AFTER_SECONDS } from './dependency-outage';

// Postgres or Redis gone mid-flight: requests that need them answer 503 with Retry-After (not a 500
// that reads like a bug), both on the operator API and on the RustDesk client API, and work again
// once the service is back. Both are reached through proxies the test cuts. Each such 503 is counted
// by dependency in switchboard_api_dependency_unavailable_total.
describe('requests while a backing service is unreachable', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let redis: TcpProxy;
  let postgres: TcpProxy;
  let admin: TestUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await TcpProxy.start('127.0.0.1', 6379);
    postgres = await TcpProxy.start('127.0.0.1', 5432);
    const throughProxy = new URL(database.url);
    throughProxy.port = String(postgres.port);
    app = await startTestApp({ DATABASE_URL: throughProxy.toString(), REDIS_URL: redis.url });
    admin = await createUser(app, 'admin');
  });

  afterAll(async () => {
    await app?.close();
    await redis?.close();
    await postgres?.close();
    await database?.drop();
  });

  const unavailable = async (dependency: string) =>
    (await metricSample(app, 'switchboard_api_dependency_unavailable_total', { dependency })) ?? NaN;
  async function countedWhile(act: () => Promise<void>): Promise<Record<string, number>> {
    const names = ['postgres', 'redis', 'unknown'];
    const before = await Promise.all(names.map(unavailable));
    await act();
    const after = await Promise.all(names.map(unavailable));
    return Object.fromEntries(names.map((name, i) => [name, (after[i] ?? NaN) - (before[i] ?? NaN)]));
  }

  function deploy() {
    return app.inject({
      method: 'POST',
      url: '/api/devices/deploy',
      headers: { authorization: 'Bearer not-a-real-token', 'content-type': 'application/json' },
      payload: {
        id: '123456789',
        uuid: Buffer.from('uuid').toString('base64'),
        pk: Buffer.alloc(32, 7).toString('base64'),
      },
      remoteAddress: '198.51.100.20',
    });
  }

  it('answers 503 with Retry-After while Redis is down, and serves again once it is back', async () => {
    await redis.cut();
    let counted: Record<string, number> = {};
    try {
      counted = await countedWhile(async () => {
        const login = await panelLogin(app, admin);
        expect(login.statusCode).toBe(503);
        expect(login.headers['retry-after']).toBe(String(OUTAGE_RETRY_AFTER_SECONDS));
        expect(login.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
        expect(login.json().message).toMatch(/temporarily unavailable/);

        const deployed = await deploy();
        expect(deployed.statusCode).toBe(503);
        expect(deployed.headers['retry-after']).toBe(String(OUTAGE_RETRY_AFTER_SECONDS));
        expect(deployed.json()).toEqual({ error: expect.stringMatching(/temporarily unavailable/) });
      });
    } finally {
      await redis.restore();
    }
    expect(counted).toEqual({ postgres: 0, redis: 2, unknown: 0 });
    await expectEventually(async () => (await panelLogin(app, admin)).statusCode === 200);
  });

  it('answers 503 with Retry-After while Postgres is down, and serves again once it is back', async () => {
    await postgres.cut();
    let counted: Record<string, number> = {};
    try {
      counted = await countedWhile(async () => {
        const login = await panelLogin(app, admin);
        expect(login.statusCode).toBe(503);
        expect(login.headers['retry-after']).toBe(String(OUTAGE_RETRY_AFTER_SECONDS));
        // Whatever the driver said (addresses, SQL) stays in the log.
        expect(login.body).not.toMatch(/127\.0\.0\.1|5432|ECONN|terminated/);
      });
    } finally {
      await postgres.restore();
    }
    expect(counted).toEqual({ postgres: 1, redis: 0, unknown: 0 });
    await expectEventually(async () => (await panelLogin(app, admin)).statusCode === 200);
  });

  it('still answers a request that needs neither with its own status', async () => {
    await postgres.cut();
    await redis.cut();
    try {
      const counted = await countedWhile(async () => {
        const response = await app.inject({ method: 'GET', url: '/api/v1/no-such-route' });
        expect(response.statusCode).toBe(404);
      });
      expect(counted).toEqual({ postgres: 0, redis: 0, unknown: 0 });
    } finally {
      await postgres.restore();
      await redis.restore();
    }
  });
});

async function expectEventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('not recovered in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
