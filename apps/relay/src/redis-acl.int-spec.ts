import { readFileSync } from 'node:fs';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { AUDIT_QUEUE_NAME, auditQueuePrefix } from '@switchboard/audit-queue';
import {
  readRefusalCounts,
  readServiceHealth,
  RedisEventBus,
  RefusalTally,
  ServiceHealthReporter,
} from '@switchboard/events';
import { createLogger } from '@switchboard/observability';
import { RelayAccessLists, RelayPicker, RelayTicketStore } from '@switchboard/relay-registry';
import { createShippedRedisUser, SHIPPED_ACL_TEMPLATE, shippedAclRules } from '@switchboard/test-net';

import { REDIS_URL, RelayFixture } from './test/relay-fixture';

// The shipped ACL rules (deploy/redis/users.acl.template), created on the real Redis under names of
// this run's own and this run's key prefix, then exercised with what each service really does.

const silent = createLogger({ name: 'acl-test', level: 'silent' });

describe('Redis ACL users as shipped (real Redis)', () => {
  let fixture: RelayFixture;
  const acl = new Redis(REDIS_URL);
  const created: string[] = [];
  const clients: Redis[] = [];

  beforeEach(() => {
    fixture = new RelayFixture();
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    // Nodes first: deleting a user drops its connections, which would then retry forever.
    await fixture.close();
    for (const name of created.splice(0)) await acl.call('ACL', 'DELUSER', name);
  });

  afterAll(async () => {
    await acl.quit();
  });

  /** Creates the shipped user under a unique name; returns its REDIS_URL. */
  async function createUser(user: string): Promise<string> {
    const { name, url } = await createShippedRedisUser(acl, user, fixture.prefix);
    created.push(name);
    return url;
  }

  function connect(url: string): Redis {
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  }

  const key = (suffix: string) => `${fixture.prefix}:${suffix}`;
  const events = () => `${fixture.prefix}:events`;

  describe('relay', () => {
    it('runs a relay node: events in sync, deny set loaded, its record announced, tickets consumed, audit queued', async () => {
      const url = await createUser('switchboard-relay');
      await fixture.lists.denyDevices(['100000009']);
      const { node } = await fixture.startNode({
        redisUrl: url,
        announce: { nodeId: 'acl-node', address: '127.0.0.1:21117', capacity: 10, refreshMs: 100 },
      });

      // Ready means subscribed, the seq read, the deny set (with its rebuild id) and IP lists loaded.
      expect(node.eventsReady).toBe(true);
      expect(await fixture.admin.exists(key('relay:node:acl-node'))).toBe(1);
      // Its health record for the dashboard (written at start, once Redis is open).
      await waitForHealth(fixture.admin, fixture.prefix, 'relay:acl-node');

      const relayClient = connect(url);
      // The IP lists' rebuild id is readable (it decides whether held entries may go), as is the deny set's.
      expect(await relayClient.get(key('relay:ip-lists:rebuilt'))).toBeNull();
      expect(await relayClient.get(key('relay:denied-devices:rebuilt'))).toBeNull();
      const tickets = new RelayTicketStore({
        redis: relayClient,
        prefix: key('relay'),
        logger: silent,
        verifyKey: fixture.signalKey.publicKey,
      });
      await fixture.ticket('acl-uuid');
      expect(await tickets.take('acl-uuid')).toMatchObject({ relay: '127.0.0.1:21117' });
      expect(await fixture.admin.exists(key('relay:ticket:acl-uuid'))).toBe(0);

      const queue = new Queue(AUDIT_QUEUE_NAME, {
        connection: { url },
        prefix: auditQueuePrefix(fixture.prefix),
      });
      try {
        await queue.add('fact', { action: 'test' });
        expect(await queue.count()).toBe(1);
      } finally {
        await queue.close();
      }
    });

    it('cannot publish events, nor write the deny set, the IP lists or the seq, nor administer Redis', async () => {
      const relay = connect(await createUser('switchboard-relay'));
      const refused = [
        () => relay.publish(events(), 'forged'),
        () => relay.eval("return redis.call('PUBLISH', ARGV[1], 'forged')", 0, events()),
        () => relay.sadd(key('relay:denied-devices'), 'x'),
        () => relay.srem(key('relay:denied-devices'), '100000001'),
        () => relay.del(key('relay:denied-devices')),
        // A relay that could write the rebuild id could make the others drop the denials they kept.
        () => relay.set(key('relay:denied-devices:rebuilt'), 'forged'),
        () => relay.set(key('relay:ip-lists:rebuilt'), 'forged'),
        () => relay.sadd(key('relay:blocklist'), '10.0.0.1'),
        () => relay.srem(key('relay:blacklist'), '10.0.0.2'),
        () => relay.incr(key('events:seq')),
        () => relay.set(key('events:seq'), '0'),
        // Ticket keys are writable (the relay consumes them), but a ticket it writes lacks signal's
        // signature and is refused: relay-core's ticket tests.
        () => relay.set(`other-deployment:relay:node:x`, 'x'),
        () => relay.flushall(),
        () => relay.call('CONFIG', 'GET', 'requirepass'),
        () => relay.keys('*'),
        () => relay.call('ACL', 'LIST'),
        () => relay.call('CLIENT', 'KILL', 'TYPE', 'normal'),
      ];
      // NOPERM for a command; a script's own wording when the command or key is forbidden inside EVAL.
      for (const attempt of refused)
        await expect(attempt()).rejects.toThrow(/NOPERM|can't run this command|can't access/);
    });

    it('cannot put an event on the channel even through the event bus with a valid key', async () => {
      const url = await createUser('switchboard-relay');
      const bus = new RedisEventBus({
        redis: url,
        prefix: events(),
        signingKey: fixture.eventSigningKey,
        logger: silent,
      });
      try {
        await expect(
          bus.publish('DeviceUnbanned', { deviceId: '100000001', actor: 'relay' }),
        ).rejects.toThrow(/NOPERM/);
      } finally {
        await bus.stop();
      }
    });
  });

  describe('signal', () => {
    it('lists relay nodes, issues tickets and reads the deny set, but cannot publish or write access lists or node records', async () => {
      await fixture.startNode({
        announce: { nodeId: 'listed', address: '127.0.0.1:21117', capacity: 10, refreshMs: 100 },
      });
      const signal = connect(await createUser('switchboard-signal'));
      const picker = new RelayPicker({
        redis: signal,
        prefix: key('relay'),
        recordKey: fixture.recordKey,
        logger: silent,
      });
      await picker.start();
      await picker.stop();
      expect(picker.liveNodes().map((node) => node.nodeId)).toEqual(['listed']);
      const tickets = new RelayTicketStore({
        redis: signal,
        prefix: key('relay'),
        logger: silent,
        signingKey: fixture.signalKey.secretKey,
      });
      tickets.issue({
        uuid: 'from-signal',
        peers: ['111111111'],
        relay: '127.0.0.1:21117',
        requesterIp: '127.0.0.1',
        answererIp: '127.0.0.1',
      });
      await tickets.flush();
      expect(await fixture.admin.exists(key('relay:ticket:from-signal'))).toBe(1);
      await fixture.lists.denyDevices(['100000011']);
      expect(
        await new RelayAccessLists({ redis: signal, prefix: key('relay') }).isDeviceDenied('100000011'),
      ).toBe(true);

      for (const attempt of [
        () => signal.publish(events(), 'forged'),
        () => signal.srem(key('relay:denied-devices'), '100000011'),
        () => signal.sadd(key('relay:blocklist'), '10.0.0.1'),
        () => signal.set(key('relay:node:rogue'), 'x', 'PX', 60_000),
        () => signal.incr(key('events:seq')),
        () => signal.flushdb(),
      ]) {
        await expect(attempt()).rejects.toThrow(/NOPERM/);
      }
    });
  });

  describe('dashboard records', () => {
    it('signal writes its health record and refusal counts; neither service can write the other keys', async () => {
      const signal = connect(await createUser('switchboard-signal'));
      await signal.ping();
      const reporter = new ServiceHealthReporter({
        redis: signal,
        redisKeyPrefix: fixture.prefix,
        service: 'signal',
        instanceId: 'acl-signal',
        read: () => ({ eventsReady: true, appliedSeq: 7 }),
        logger: silent,
      });
      await reporter.report();
      const tally = new RefusalTally({ redis: signal, redisKeyPrefix: fixture.prefix, logger: silent });
      tally.count('banned');
      await tally.flush();
      const { instances } = await readServiceHealth(fixture.admin, fixture.prefix);
      expect(instances.map(({ record }) => record)).toEqual([
        expect.objectContaining({ service: 'signal', instanceId: 'acl-signal', appliedSeq: 7 }),
      ]);
      expect((await readRefusalCounts(fixture.admin, fixture.prefix, Date.now())).byReason).toEqual({
        banned: 1,
      });
      await reporter.stop();
      expect(await fixture.admin.exists(key('health:signal:acl-signal'))).toBe(0);

      const relay = connect(await createUser('switchboard-relay'));
      for (const attempt of [
        () => relay.hincrby(key('dashboard:refusals:1'), 'banned', 1),
        () => relay.set(key('dashboard:online:1'), '5'),
        () => signal.set(key('dashboard:online:1'), '5'),
        () => signal.hincrby(key('relay:nodes'), 'x', 1),
        () => relay.get(key('health:signal:x')),
      ]) {
        await expect(attempt()).rejects.toThrow(/NOPERM/);
      }
    });
  });

  describe('api', () => {
    it('publishes events and writes the deny set, but cannot administer Redis or touch another prefix', async () => {
      const url = await createUser('switchboard-api');
      const bus = new RedisEventBus({
        redis: url,
        prefix: events(),
        signingKey: fixture.eventSigningKey,
        logger: silent,
      });
      const api = connect(url);
      try {
        expect(await bus.publish('DeviceBanned', { deviceId: '100000012', actor: 'admin' })).toBe(1);
        await new RelayAccessLists({ redis: api, prefix: key('relay') }).denyDevices(['100000012']);
        expect(await fixture.admin.sismember(key('relay:denied-devices'), '100000012')).toBe(1);
        for (const attempt of [
          () => api.flushall(),
          () => api.call('CONFIG', 'SET', 'appendonly', 'no'),
          () => api.keys('*'),
          () => api.set('other-deployment:x', '1'),
        ]) {
          await expect(attempt()).rejects.toThrow(/NOPERM/);
        }
      } finally {
        await bus.stop();
      }
    });
  });

  it('turns the default user off and leaves the health check PING only', () => {
    const template = readFileSync(SHIPPED_ACL_TEMPLATE, 'utf8');
    expect(template).toMatch(/^user default off /m);
    expect(shippedAclRules('healthcheck', 'p', 'x')).toEqual([
      'on',
      'nopass',
      'resetkeys',
      'resetchannels',
      '-@all',
      '+ping',
    ]);
  });
});

async function waitForHealth(redis: Redis, prefix: string, member: string): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 5_000;) {
    if ((await redis.sismember(`${prefix}:health:instances`, member)) === 1) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no health record for ${member}`);
}
