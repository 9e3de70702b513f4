import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TcpProxy } from '@switchboard/test-net';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { createUser, panelLogin, type TestUser } from '../../test/auth-helpers';
import { startTestApp } from '../../test/api-test-harness';
import { OUTAGE_RETRY_AFTER_SECONDS } from './dependency-outage';

// Postgres or Redis gone mid-flight: requests that need them answer 503 with Retry-After (not a 500
// that reads like a bug), both on the operator API and on the RustDesk client API, and work again
// once the service is back. Both are reached through proxies the test cuts.
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
    try {
      const login = await panelLogin(app, admin);
      expect(login.statusCode).toBe(503);
      expect(login.headers['retry-after']).toBe(String(OUTAGE_RETRY_AFTER_SECONDS));
      expect(login.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(login.json().message).toMatch(/temporarily unavailable/);

      const deployed = await deploy();
      expect(deployed.statusCode).toBe(503);
      expect(deployed.headers['retry-after']).toBe(String(OUTAGE_RETRY_AFTER_SECONDS));
      expect(deployed.json()).toEqual({ error: expect.stringMatching(/temporarily unavailable/) });
    } finally {
      await redis.restore();
    }
    await expectEventually(async () => (await panelLogin(app, admin)).statusCode === 200);
  });

  it('answers 503 with Retry-After while Postgres is down, and serves again once it is back', async () => {
    await postgres.cut();
    try {
      const login = await panelLogin(app, admin);
      expect(login.statusCode).toBe(503);
      expect(login.headers['retry-after']).toBe(String(OUTAGE_RETRY_AFTER_SECONDS));
      // Whatever the driver said (addresses, SQL) stays in the log.
      expect(login.body).not.toMatch(/127\.0\.0\.1|5432|ECONN|terminated/);
    } finally {
      await postgres.restore();
    }
    await expectEventually(async () => (await panelLogin(app, admin)).statusCode === 200);
  });

  it('still answers a request that needs neither with its own status', async () => {
    await postgres.cut();
    await redis.cut();
    try {
      const response = await app.inject({ method: 'GET', url: '/api/v1/no-such-route' });
      expect(response.statusCode).toBe(404);
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
