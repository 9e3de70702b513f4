import { randomUUID } from 'node:crypto';

import { createPrismaClient, DeviceRepository, type PrismaClient } from '@switchboard/data-access';
import { type EventPayload, EventSigningKey, type EventType, RedisEventBus } from '@switchboard/events';
import { createMetricsRegistry } from '@switchboard/observability';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { RelayAccessLists } from '@switchboard/relay-registry';
import { waitFor } from '@switchboard/test-net';
import { Redis } from 'ioredis';

import { type AccessDecision, type Refusal, type RegistrationPolicy } from '../ports';
import { type DeniedDeviceSource } from './device-access-control';
import { createDeviceAdmission, type DeviceAdmission } from './device-admission';
import { createCapturedLogger } from './test-support/captured-logger';
import { PostgresProxy } from './test-support/postgres-proxy';

jest.setTimeout(60_000);

const REDIS_URL = 'redis://127.0.0.1:6379';
const UUID_A = Buffer.from('machine-a');
const UUID_B = Buffer.from('machine-b');

const outcome = (decision: AccessDecision): 'allowed' | Refusal =>
  decision.allowed ? 'allowed' : decision.refusal;

describe('DeviceAccessControl (real Postgres and Redis events)', () => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let redis: Redis;
  let prefix: string;
  let publisher: RedisEventBus;
  /** The api's key: the subscriber holds only its public half. */
  let signingKey: EventSigningKey;
  let cleanups: Array<() => Promise<unknown>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = createPrismaClient(database.url);
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    await prisma.$disconnect();
    await redis.quit();
    await database.drop();
  });

  beforeEach(async () => {
    await prisma.$executeRaw`TRUNCATE devices CASCADE`;
    await prisma.$executeRaw`TRUNCATE settings`;
    prefix = `test:admission:${randomUUID()}`;
    signingKey = EventSigningKey.generate();
    publisher = new RedisEventBus({
      redis: REDIS_URL,
      prefix,
      signingKey,
      logger: createCapturedLogger().logger,
    });
    cleanups = [() => publisher.stop(), () => redis.del(`${prefix}:seq`)];
  });

  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  interface Harness {
    admission: DeviceAdmission;
    subscriber: RedisEventBus;
    denied: Array<[readonly string[], Refusal]>;
    register(id: string, uuid?: Uint8Array): 'allowed' | Refusal;
    reach(id: string): 'allowed' | Refusal;
  }

  /** A signal's admission half: its own event subscriber, index and write-behind. */
  async function startAdmission(
    defaultPolicy: RegistrationPolicy,
    options: { databaseUrl?: string; waitReady?: boolean; denySet?: DeniedDeviceSource } = {},
  ): Promise<Harness> {
    const { logger } = createCapturedLogger();
    const client = createPrismaClient(options.databaseUrl ?? database.url);
    const subscriber = new RedisEventBus({
      redis: REDIS_URL,
      prefix,
      verifyKey: signingKey.verifyKey,
      logger,
      resyncRetryDelayMs: 50,
    });
    const admission = createDeviceAdmission({
      devices: new DeviceRepository(client),
      events: subscriber,
      logger,
      registry: createMetricsRegistry({ defaultMetrics: false }),
      defaultPolicy,
      writer: { flushIntervalMs: 50, retryMinMs: 50, retryMaxMs: 100 },
      access: { loadWithoutEventsAfterMs: 100, retryDelayMs: 50, denySet: options.denySet },
    });
    const denied: Harness['denied'] = [];
    admission.access.onDenied((ids, refusal) => denied.push([ids, refusal]));
    cleanups.push(
      () => client.$disconnect(),
      () => subscriber.stop(),
      () => admission.stop(1_000),
    );
    admission.start();
    const started = subscriber.start();
    if (options.waitReady ?? true) await started;
    else started.catch(() => undefined);
    return {
      admission,
      subscriber,
      denied,
      register: (id, uuid) => outcome(admission.access.checkRegistration(id, uuid)),
      reach: (id) => outcome(admission.access.checkReachable(id)),
    };
  }

  /** Publishes and waits until the subscriber has handled the event. */
  async function publishAndSettle<T extends EventType>(harness: Harness, type: T, payload: EventPayload<T>) {
    let handled = false;
    const off = harness.subscriber.on(type, () => {
      handled = true;
    });
    await publisher.publish(type, payload);
    await waitFor(() => handled, `${type} to be handled`);
    off();
  }

  async function seedDevices() {
    await prisma.device.createMany({
      data: [
        { rustdeskId: 'admit1', uuid: UUID_A },
        { rustdeskId: 'wait01', admission: 'pending' },
        { rustdeskId: 'nope01', admission: 'rejected' },
        { rustdeskId: 'ban001', banned: true },
        { rustdeskId: 'del001', deletedAt: new Date() },
        { rustdeskId: 'rev001', revokedAt: new Date() },
      ],
    });
  }

  const ids = ['admit1', 'wait01', 'nope01', 'ban001', 'del001', 'rev001', 'new001'];

  it.each([
    ['open', ['allowed', 'allowed', 'unknown-device', 'banned', 'deleted', 'revoked', 'allowed']],
    ['token', ['allowed', 'not-deployed', 'not-deployed', 'banned', 'deleted', 'revoked', 'not-deployed']],
    ['approval', ['allowed', 'pending', 'unknown-device', 'banned', 'deleted', 'revoked', 'pending']],
    ['locked', ['allowed', 'pending', 'unknown-device', 'banned', 'deleted', 'revoked', 'unknown-device']],
  ] as const)(
    '%s policy: decisions for each kind of device, as caller and as target',
    async (policy, expected) => {
      await seedDevices();
      const harness = await startAdmission(policy);

      expect(harness.admission.access.ready).toBe(true);
      expect(ids.map((id) => harness.reach(id))).toEqual(expected);
      expect(ids.map((id) => harness.register(id))).toEqual(expected);
    },
  );

  it('token policy: a device is admitted once the api admits it, for the uuid it was admitted with', async () => {
    await seedDevices();
    const harness = await startAdmission('token');
    expect(harness.register('admit1', UUID_A)).toBe('allowed');
    expect(harness.register('admit1', UUID_B)).toBe('not-deployed');
    expect(harness.register('deploy', UUID_B)).toBe('not-deployed');

    // What /api/devices/deploy does: write the admitted row, then publish.
    await prisma.device.create({ data: { rustdeskId: 'deploy', uuid: UUID_B, admission: 'admitted' } });
    await publishAndSettle(harness, 'DeviceApproved', { deviceId: 'deploy', actor: 'token:abc' });

    expect(harness.register('deploy', UUID_B)).toBe('allowed');
    expect(harness.register('deploy', UUID_A)).toBe('not-deployed');
    expect(harness.reach('deploy')).toBe('allowed');
  });

  it('knows which machine holds a stored id, so a restart does not free it for another uuid', async () => {
    await seedDevices();
    const harness = await startAdmission('open');
    expect(harness.admission.access.storedUuidMatch('admit1', UUID_B)).toBe('different');
    expect(harness.admission.access.storedUuidMatch('admit1', UUID_A)).toBe('maybe-same');
    expect(harness.admission.access.storedUuidMatch('never-seen', UUID_B)).toBe('none');
    expect(await harness.admission.access.readStoredIdentity('admit1')).toMatchObject({ uuid: UUID_A });
    expect(await harness.admission.access.readStoredIdentity('never-seen')).toBeNull();
  });

  it('approval policy: a new device is recorded as pending, unreachable, and admitted by DeviceApproved', async () => {
    const harness = await startAdmission('approval');

    expect(harness.register('fresh1', UUID_A)).toBe('pending');
    expect(harness.register('fresh1', UUID_A)).toBe('pending');
    expect(harness.reach('fresh1')).toBe('pending');
    await waitFor(
      async () => (await prisma.device.count({ where: { rustdeskId: 'fresh1' } })) === 1,
      'the row',
    );
    const row = await prisma.device.findUniqueOrThrow({ where: { rustdeskId: 'fresh1' } });
    expect(row.admission).toBe('pending');
    expect(Buffer.from(row.uuid ?? [])).toEqual(UUID_A);

    // The admin approves in the api.
    await prisma.device.update({ where: { rustdeskId: 'fresh1' }, data: { admission: 'admitted' } });
    await publishAndSettle(harness, 'DeviceApproved', { deviceId: 'fresh1', actor: 'admin' });

    expect(harness.register('fresh1', UUID_A)).toBe('allowed');
    expect(harness.reach('fresh1')).toBe('allowed');
  });

  it('reads the policy from settings at load and follows ConfigChanged live', async () => {
    await prisma.setting.create({ data: { key: 'registration.policy', value: 'locked' } });
    const harness = await startAdmission('open');
    expect(harness.admission.access.registrationPolicy).toBe('locked');
    expect(harness.register('new001')).toBe('unknown-device');

    await prisma.setting.update({ where: { key: 'registration.policy' }, data: { value: 'open' } });
    await publishAndSettle(harness, 'ConfigChanged', {
      key: 'registration.policy',
      value: 'open',
      actor: 'admin',
    });
    expect(harness.register('new001')).toBe('allowed');

    // A bad value is refused, not guessed at.
    await publishAndSettle(harness, 'ConfigChanged', {
      key: 'registration.policy',
      value: 'wide-open',
      actor: 'x',
    });
    expect(harness.admission.access.registrationPolicy).toBe('open');
  });

  it('a device that joined under open is known when the policy turns locked', async () => {
    const harness = await startAdmission('open');
    expect(harness.register('joined', UUID_A)).toBe('allowed');
    harness.admission.writer.recordRegistration({
      id: 'joined',
      uuid: UUID_A,
      pk: Buffer.alloc(32, 1),
      ip: '10.0.0.1',
      at: new Date(),
    });

    // As the api does it: the setting is stored, then announced.
    await prisma.setting.create({ data: { key: 'registration.policy', value: 'locked' } });
    await publishAndSettle(harness, 'ConfigChanged', {
      key: 'registration.policy',
      value: 'locked',
      actor: 'admin',
    });

    expect(harness.register('joined', UUID_A)).toBe('allowed');
    expect(harness.register('strngr', UUID_B)).toBe('unknown-device');
  });

  it('a ban event refuses the device at once and tells onDenied; an unban restores it', async () => {
    await seedDevices();
    const harness = await startAdmission('open');
    harness.denied.length = 0;

    await publishAndSettle(harness, 'DeviceBanned', { deviceId: 'admit1', reason: 'abuse', actor: 'admin' });
    expect(harness.denied).toEqual([[['admit1'], 'banned']]);
    expect(harness.register('admit1')).toBe('banned');
    expect(harness.reach('admit1')).toBe('banned');

    await publishAndSettle(harness, 'DeviceUnbanned', { deviceId: 'admit1', actor: 'admin' });
    expect(harness.register('admit1')).toBe('allowed');
    expect(harness.reach('admit1')).toBe('allowed');
  });

  it('a revoke refuses the whole cascade and reports it in one call; deletes and renames follow', async () => {
    await prisma.device.createMany({
      data: ['host01', 'clone1', 'clone2', 'gone01', 'hard01', 'rename'].map((rustdeskId) => ({
        rustdeskId,
      })),
    });
    const harness = await startAdmission('locked');
    harness.denied.length = 0;

    await publishAndSettle(harness, 'DeviceRevoked', {
      deviceId: 'host01',
      cascade: ['clone1', 'clone2'],
      actor: 'a',
    });
    await publishAndSettle(harness, 'DeviceDeleted', { deviceId: 'gone01', hard: false, actor: 'a' });
    // What the api does before it announces a hard delete, a ban and a rename: the rows first.
    await prisma.device.delete({ where: { rustdeskId: 'hard01' } });
    await publishAndSettle(harness, 'DeviceDeleted', { deviceId: 'hard01', hard: true, actor: 'a' });
    await prisma.device.update({ where: { rustdeskId: 'rename' }, data: { banned: true } });
    await publishAndSettle(harness, 'DeviceBanned', { deviceId: 'rename', actor: 'a' });
    await prisma.device.update({ where: { rustdeskId: 'rename' }, data: { rustdeskId: 'newnam' } });
    await publishAndSettle(harness, 'DeviceIdChanged', {
      oldDeviceId: 'rename',
      newDeviceId: 'newnam',
      actor: 'a',
    });

    expect(harness.denied).toEqual([
      [['host01', 'clone1', 'clone2'], 'revoked'],
      [['gone01'], 'deleted'],
      [['hard01'], 'deleted'],
      [['rename'], 'banned'],
    ]);
    expect(['host01', 'clone1', 'clone2', 'gone01'].map((id) => harness.register(id))).toEqual([
      'revoked',
      'revoked',
      'revoked',
      'deleted',
    ]);
    // A hard-deleted row is gone: under locked its id is simply unknown now.
    expect(harness.register('hard01')).toBe('unknown-device');
    // The ban follows the device to its new id.
    expect(harness.register('newnam')).toBe('banned');
    expect(harness.register('rename')).toBe('unknown-device');
  });

  describe('Redis alone never relaxes access', () => {
    /** What anyone who can write to Redis can send: the next seq, unsigned. */
    async function publishForged<T extends EventType>(type: T, payload: EventPayload<T>): Promise<void> {
      const seq = Number((await redis.get(`${prefix}:seq`)) ?? 0) + 1;
      await redis.publish(prefix, JSON.stringify({ type, seq, at: new Date().toISOString(), payload }));
    }

    it('a forged unban published straight to Redis leaves the device banned', async () => {
      await seedDevices();
      const harness = await startAdmission('open');

      await publishForged('DeviceUnbanned', { deviceId: 'ban001', actor: 'attacker' });
      // A genuine event after it: once it is handled, the forged one had its chance.
      await publishAndSettle(harness, 'DeviceBanned', { deviceId: 'nope01', actor: 'admin' });

      expect(harness.register('ban001')).toBe('banned');
      expect(harness.subscriber.rejectedFrames).toBe(1);
    });

    it('a forged registration policy change leaves the stored policy in force', async () => {
      await prisma.setting.create({ data: { key: 'registration.policy', value: 'locked' } });
      const harness = await startAdmission('open');

      await publishForged('ConfigChanged', { key: 'registration.policy', value: 'open', actor: 'attacker' });
      await publishAndSettle(harness, 'DeviceBanned', { deviceId: 'nope01', actor: 'admin' });

      expect(harness.admission.access.registrationPolicy).toBe('locked');
      expect(harness.register('new001')).toBe('unknown-device');
    });

    // A signed event is the api's word, but the api writes Postgres first: what Postgres does not
    // show (a replayed frame, a leaked key, an api bug) is not applied.
    it('a signed unban, approval, hard delete or policy change that Postgres does not show is not applied', async () => {
      await seedDevices();
      await prisma.setting.create({ data: { key: 'registration.policy', value: 'approval' } });
      const harness = await startAdmission('open');

      await publishAndSettle(harness, 'DeviceUnbanned', { deviceId: 'ban001', actor: 'x' });
      await publishAndSettle(harness, 'DeviceDeleted', { deviceId: 'ban001', hard: true, actor: 'x' });
      await publishAndSettle(harness, 'DeviceApproved', { deviceId: 'wait01', actor: 'x' });
      await publishAndSettle(harness, 'ConfigChanged', {
        key: 'registration.policy',
        value: 'open',
        actor: 'x',
      });

      expect(harness.register('ban001')).toBe('banned');
      expect(harness.register('wait01')).toBe('pending');
      expect(harness.admission.access.registrationPolicy).toBe('approval');
      expect(harness.register('new001', UUID_B)).toBe('pending');
    });

    it('a signed rename that Postgres does not show moves nothing', async () => {
      await seedDevices();
      const harness = await startAdmission('locked');
      const renamed: Array<[string, string]> = [];
      harness.admission.access.onRenamed((oldId, newId) => renamed.push([oldId, newId]));

      await publishAndSettle(harness, 'DeviceIdChanged', {
        oldDeviceId: 'admit1',
        newDeviceId: 'evil01',
        actor: 'x',
      });

      expect(harness.register('evil01', UUID_A)).toBe('unknown-device');
      expect(harness.register('admit1', UUID_A)).toBe('allowed');
      expect(renamed).toEqual([]);
    });
  });

  it('after a gap in the events, a full reload picks up a ban whose event was lost, before ready', async () => {
    await seedDevices();
    const harness = await startAdmission('open');
    harness.denied.length = 0;

    // The api banned it, but its event never reached us.
    await prisma.device.update({ where: { rustdeskId: 'admit1' }, data: { banned: true } });
    await redis.incr(`${prefix}:seq`);
    expect(harness.register('admit1')).toBe('allowed');
    // The next event reveals the gap.
    await publisher.publish('DeviceBanned', { deviceId: 'other1', actor: 'admin' });

    await waitFor(() => harness.register('admit1') === 'banned', 'the reload');
    await harness.subscriber.whenReady();
    expect(harness.admission.access.ready).toBe(true);
    expect(harness.denied).toContainEqual([['admit1'], 'banned']);
  });

  it('after a Redis reconnect, the reload picks up a ban made meanwhile, and is not ready until then', async () => {
    await seedDevices();
    const harness = await startAdmission('open');
    await prisma.device.update({ where: { rustdeskId: 'admit1' }, data: { banned: true } });

    const list = (await redis.client('LIST')) as string;
    const line = list.split('\n').find((entry) => entry.includes(` name=${prefix}:subscriber `));
    const clientId = /^id=(\d+) /.exec(line ?? '')?.[1];
    if (clientId === undefined) throw new Error('subscriber connection not found');
    await redis.client('KILL', 'ID', clientId);

    await waitFor(() => !harness.admission.access.ready, 'not ready');
    await waitFor(() => harness.admission.access.ready, 'ready again');
    expect(harness.register('admit1')).toBe('banned');
    expect(harness.denied).toContainEqual([['admit1'], 'banned']);
  });

  it('with Postgres down at start: stays not ready, refuses unknown ids under token, and loads when it is back', async () => {
    await seedDevices();
    const proxy = new PostgresProxy();
    await proxy.start();
    const url = proxy.url(database.url);
    await proxy.cut();
    cleanups.push(() => proxy.close());

    const harness = await startAdmission('token', { databaseUrl: url, waitReady: false });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(harness.admission.access.ready).toBe(false);
    // Nothing can be shown to be admitted yet.
    expect(harness.register('admit1', UUID_A)).toBe('not-deployed');

    await proxy.restore();
    await harness.subscriber.whenReady();
    expect(harness.admission.access.ready).toBe(true);
    expect(harness.register('admit1', UUID_A)).toBe('allowed');
    expect(harness.register('ban001')).toBe('banned');
  });

  it('with Postgres unreachable at start, refuses what the Redis deny set holds, and still after Postgres loads', async () => {
    await seedDevices();
    const lists = new RelayAccessLists({ redis, prefix: `${prefix}:relay` });
    cleanups.push(() => redis.del(`${prefix}:relay:denied-devices`));
    // ban001 is banned in Postgres too; admit1 only in Redis (which either source says is refused).
    await lists.denyDevices(['ban001', 'admit1']);
    const proxy = new PostgresProxy();
    await proxy.start();
    const url = proxy.url(database.url);
    await proxy.cut();
    cleanups.push(() => proxy.close());

    const harness = await startAdmission('open', { databaseUrl: url, waitReady: false, denySet: lists });
    expect(await harness.admission.access.whenDenySetLoaded(5_000)).toBe(true);
    expect(harness.admission.access.ready).toBe(false);
    expect(harness.register('ban001', UUID_A)).toBe('banned');
    expect(harness.register('admit1', UUID_A)).toBe('banned');
    expect(harness.reach('ban001')).toBe('banned');
    expect(harness.register('new001', UUID_B)).toBe('allowed');

    await proxy.restore();
    await harness.subscriber.whenReady();
    await waitFor(() => harness.admission.access.ready, 'the index to load');
    expect(harness.register('ban001', UUID_A)).toBe('banned');
    expect(harness.register('admit1', UUID_A)).toBe('banned');
    // An unban takes the id out of the Redis set first, then is published: then it is lifted.
    await lists.allowDevices(['admit1']);
    await publishAndSettle(harness, 'DeviceUnbanned', { deviceId: 'admit1', actor: 'user:op' });
    expect(harness.register('admit1', UUID_A)).toBe('allowed');
  });

  it('with Redis unreachable at start, loads from Postgres on its own and serves known devices', async () => {
    await seedDevices();
    const { logger } = createCapturedLogger();
    const subscriber = new RedisEventBus({
      redis: { host: '127.0.0.1', port: 1, lazyConnect: true, retryStrategy: () => 1_000 },
      prefix,
      verifyKey: signingKey.verifyKey,
      logger,
    });
    const client = createPrismaClient(database.url);
    const admission = createDeviceAdmission({
      devices: new DeviceRepository(client),
      events: subscriber,
      logger,
      registry: createMetricsRegistry({ defaultMetrics: false }),
      defaultPolicy: 'token',
      access: { loadWithoutEventsAfterMs: 50 },
    });
    cleanups.push(
      () => client.$disconnect(),
      () => subscriber.stop(),
      () => admission.stop(500),
    );
    admission.start();
    subscriber.start().catch(() => undefined);

    await waitFor(() => admission.access.devices === 6, 'the load without events');
    expect(admission.access.ready).toBe(false);
    expect(outcome(admission.access.checkRegistration('admit1', UUID_A))).toBe('allowed');
    expect(outcome(admission.access.checkRegistration('ban001'))).toBe('banned');
  });

  it('an id change through the writer port moves the device in the index and in Postgres', async () => {
    await seedDevices();
    const harness = await startAdmission('token');

    harness.admission.writer.recordIdChange('admit1', 'renamd', new Date());

    expect(harness.register('renamd', UUID_A)).toBe('allowed');
    expect(harness.register('admit1', UUID_A)).toBe('not-deployed');
    await waitFor(
      async () => (await prisma.device.count({ where: { rustdeskId: 'renamd' } })) === 1,
      'the rename',
    );
  });

  it('loads 100,000 devices (time printed, not asserted)', async () => {
    await prisma.$executeRaw`
      INSERT INTO devices (rustdesk_id, uuid, banned)
      SELECT (100000000 + n)::text, decode(md5(n::text), 'hex'), n % 1000 = 0
      FROM generate_series(1, 100000) AS n`;
    const started = performance.now();
    const harness = await startAdmission('locked');
    const elapsedMs = performance.now() - started;

    expect(harness.admission.access.devices).toBe(100_000);
    expect(harness.register('100000001')).toBe('allowed');
    expect(harness.register('100001000')).toBe('banned');
    console.info(`admission index: 100,000 devices loaded and ready in ${elapsedMs.toFixed(0)} ms`);
  });
});
