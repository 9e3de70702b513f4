import { AuditQueueProducer } from '@switchboard/audit-queue';
import { createLogger } from '@switchboard/observability';
import { createShippedRedisUser } from '@switchboard/test-net';
import { Redis } from 'ioredis';

import { signInAs } from '../test/api-test-harness';
import {
  auditEntries,
  EventRecorder,
  JSON_HEADERS,
  openKitParts,
  REDIS_URL,
  startKitApp,
} from '../test/device-test-kit';

// The api as it runs in docker-compose: logged into Redis as the shipped switchboard-api user
// (deploy/redis/users.acl.template), created here under a name of this run's own. Sign-in (login
// ladder), a ban (deny set + event), readiness and the audit queue (filled by a relay's user) all work.
describe('api as the shipped Redis ACL user (real Redis and Postgres)', () => {
  const acl = new Redis(REDIS_URL);
  const users: string[] = [];

  afterAll(async () => {
    for (const name of users) await acl.call('ACL', 'DELUSER', name);
    await acl.quit();
  });

  it('signs in, bans a device (deny set and event), reports ready, and appends what a relay queued', async () => {
    const parts = await openKitParts('acl');
    const api = await createShippedRedisUser(acl, 'switchboard-api', parts.prefix);
    const relay = await createShippedRedisUser(acl, 'switchboard-relay', parts.prefix);
    users.push(api.name, relay.name);
    const events = new EventRecorder(parts.prefix);
    await events.start();
    const app = await startKitApp(parts, { REDIS_URL: api.url });
    const producer = new AuditQueueProducer({
      redisUrl: relay.url,
      redisKeyPrefix: parts.prefix,
      actorId: 'relay:acl-test',
      logger: createLogger({ name: 'acl-test', level: 'silent' }),
    });
    try {
      const admin = await signInAs(app, 'admin');
      const login = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/token',
        headers: JSON_HEADERS,
        payload: JSON.stringify({ username: admin.user.username, password: admin.password }),
      });
      expect(login.statusCode).toBe(200);
      await parts.prisma.device.create({ data: { rustdeskId: '123123123' } });

      const ban = await app.inject({
        method: 'POST',
        url: '/api/v1/devices/123123123/ban',
        headers: { authorization: admin.authorization, ...JSON_HEADERS },
        payload: JSON.stringify({ reason: 'acl' }),
      });

      expect(ban.statusCode).toBe(200);
      expect(await parts.redis.smembers(parts.deniedKey)).toEqual(['123123123']);
      expect((await events.waitFor(1))[0]).toMatchObject({ type: 'DeviceBanned' });
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

      producer.record({ action: 'relay.session_closed_by_ban', uuid: 'acl-session', devices: ['123123123'] });
      await producer.flush();
      const deadline = Date.now() + 10_000;
      while ((await auditEntries(parts.prisma, 'relay.session_closed_by_ban')).length === 0) {
        if (Date.now() > deadline) throw new Error('the queued audit fact never reached the chain');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await producer.close();
      await app.close();
      await events.stop();
      await parts.redis.del(parts.deniedKey);
      parts.redis.disconnect();
      await parts.prisma.$disconnect();
      await parts.database.drop();
    }
  });
});
