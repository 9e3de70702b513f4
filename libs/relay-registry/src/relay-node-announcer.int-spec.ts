import { RelayNodeAnnouncer, type RelayNodeAnnouncerOptions } from './relay-node-announcer';
import { relayNodeRecordSchema } from './registry-layout';
import { RecordingLogger } from './test-support/recording-logger';
import { RedisFixture, sleep } from './test-support/redis-fixture';
import { TcpProxy, waitFor } from '@switchboard/test-net';

describe('RelayNodeAnnouncer (real Redis)', () => {
  let redis: RedisFixture;
  let cleanups: Array<() => Promise<void>>;

  beforeEach(() => {
    redis = new RedisFixture();
    cleanups = [];
  });

  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await redis.close();
  });

  function announcer(options: Partial<RelayNodeAnnouncerOptions> = {}) {
    const logger = new RecordingLogger();
    const node = new RelayNodeAnnouncer({
      redis: redis.serviceClient(),
      prefix: redis.prefix,
      recordKey: redis.recordKey,
      nodeId: 'relay-a:21117',
      address: '203.0.113.7:21117',
      wsAddress: '203.0.113.7:21119',
      capacity: 2_000,
      refreshMs: 100,
      ttlMs: 300,
      logger,
      ...options,
    });
    cleanups.push(() => node.stop());
    return { node, logger };
  }

  async function stored(nodeId = 'relay-a:21117') {
    const raw = await redis.admin.get(redis.key(`node:${nodeId}`));
    if (raw === null) return undefined;
    const opened = redis.recordKey.open(nodeId, raw);
    if ('problem' in opened) throw new Error(opened.problem);
    return relayNodeRecordSchema.parse(JSON.parse(opened.recordJson));
  }

  it('publishes its record with a TTL and keeps it alive past that TTL', async () => {
    const { node } = announcer();
    await node.start();

    expect(await stored()).toMatchObject({
      nodeId: 'relay-a:21117',
      address: '203.0.113.7:21117',
      wsAddress: '203.0.113.7:21119',
      sessions: 0,
      capacity: 2_000,
      draining: false,
    });
    const ttl = await redis.admin.pttl(redis.key('node:relay-a:21117'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    expect(await redis.admin.smembers(redis.key('nodes'))).toEqual(['relay-a:21117']);

    await sleep(700); // more than two TTLs
    expect(await stored()).toBeDefined();
  });

  it('sends new figures with the next refresh', async () => {
    const { node } = announcer();
    await node.start();

    node.update({ sessions: 42, bytesPerSecond: 1_234_567 });

    await waitFor(async () => (await stored())?.sessions === 42, 'the new figures', 1_000);
    expect((await stored())?.bytesPerSecond).toBe(1_234_567);
  });

  it('starts with Redis down, logs it, and appears once Redis is back', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', 6379);
    cleanups.push(() => proxy.close());
    await proxy.cut();
    const { node, logger } = announcer({ redis: redis.serviceClient(proxy.url) });

    await expect(node.start()).resolves.toBeUndefined();
    expect(logger.withMessage('relay node announce failed; retrying')).toHaveLength(1);
    expect(await stored()).toBeUndefined();

    await proxy.restore();
    await waitFor(async () => (await stored()) !== undefined, 'the record', 8_000);
    // The record can be visible to another client a moment before the announcer reads its own reply.
    await waitFor(
      () => logger.withMessage('relay node announced again').length > 0,
      'the recovery log line',
      1_000,
    );
    expect(logger.withMessage('relay node announced again')).toHaveLength(1);
  }, 15_000);

  it('leaves at once on drain, even with a publish under way, and does not come back', async () => {
    const { node } = announcer();
    await node.start();

    node.update({ sessions: 1, bytesPerSecond: 0, draining: true }); // starts a publish right now
    await new Promise(setImmediate); // let it reach Redis's socket
    await node.drain();

    expect(await redis.admin.exists(redis.key('node:relay-a:21117'))).toBe(0);
    expect(await redis.admin.smembers(redis.key('nodes'))).toEqual([]);
    await sleep(300);
    expect(await stored()).toBeUndefined();
    expect(node.state).toBe('drained');
  });

  it('refuses bad settings and figures at once', () => {
    expect(() => announcer({ address: 'not an address' })).toThrow();
    expect(() => announcer({ capacity: 0 })).toThrow();
    expect(() => announcer({ nodeId: 'bad id' })).toThrow();
    expect(() => announcer({ refreshMs: 500, ttlMs: 500 })).toThrow(RangeError);
    const { node } = announcer();
    expect(() => node.update({ sessions: -1, bytesPerSecond: 0 })).toThrow(RangeError);
    expect(() => node.update({ sessions: 1, bytesPerSecond: Number.NaN })).toThrow(RangeError);
  });
});
