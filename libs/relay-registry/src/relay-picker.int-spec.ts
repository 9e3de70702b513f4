import { Registry } from 'prom-client';

import { RelayNodeAnnouncer, type RelayNodeStats } from './relay-node-announcer';
import { RelayPicker, type RelayPickerOptions } from './relay-picker';
import { RelayRecordKey } from './relay-record-key';
import { RecordingLogger } from './test-support/recording-logger';
import { RedisFixture, sleep } from './test-support/redis-fixture';
import { TcpProxy, waitFor } from '@switchboard/test-net';

describe('RelayPicker with RelayNodeAnnouncer (real Redis)', () => {
  let redis: RedisFixture;
  let stoppers: Array<() => Promise<void>>;

  beforeEach(() => {
    redis = new RedisFixture();
    stoppers = [];
  });

  afterEach(async () => {
    for (const stop of stoppers.reverse()) await stop();
    await redis.close();
  });

  async function announce(
    nodeId: string,
    stats: RelayNodeStats & { capacity?: number },
    timing: { refreshMs?: number; ttlMs?: number } = {},
  ): Promise<RelayNodeAnnouncer> {
    const announcer = new RelayNodeAnnouncer({
      redis: redis.serviceClient(),
      prefix: redis.prefix,
      recordKey: redis.recordKey,
      nodeId,
      address: `${nodeId}.relay.test:21117`,
      wsAddress: `${nodeId}.relay.test:21119`,
      capacity: stats.capacity ?? 100,
      refreshMs: timing.refreshMs ?? 1_000,
      ttlMs: timing.ttlMs ?? 10_000,
      logger: new RecordingLogger(),
    });
    announcer.update(stats);
    await announcer.start();
    stoppers.push(() => announcer.stop());
    return announcer;
  }

  function picker(options: Partial<RelayPickerOptions> = {}): RelayPicker {
    const instance = new RelayPicker({
      redis: options.redis ?? redis.serviceClient(),
      prefix: redis.prefix,
      recordKey: redis.recordKey,
      refreshMs: 60_000,
      logger: new RecordingLogger(),
      ...options,
    });
    stoppers.push(() => instance.stop());
    return instance;
  }

  function tally(picks: string[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const address of picks) counts[address] = (counts[address] ?? 0) + 1;
    return counts;
  }

  it('hands out the least loaded live node, by sessions per capacity', async () => {
    await announce('busy', { sessions: 50, bytesPerSecond: 0 });
    await announce('light', { sessions: 10, bytesPerSecond: 9e9 });
    await announce('small', { sessions: 5, bytesPerSecond: 0, capacity: 10 });
    const relays = picker({ staticRelays: ['static.test:21117'] });
    await relays.start();

    expect(
      relays
        .liveNodes()
        .map((node) => node.nodeId)
        .sort(),
    ).toEqual(['busy', 'light', 'small']);
    expect(relays.pick()).toBe('light.relay.test:21117');
  });

  it('spreads picks by load between refreshes and takes equal nodes in turn', async () => {
    await announce('loaded', { sessions: 10, bytesPerSecond: 0 });
    await announce('idle', { sessions: 0, bytesPerSecond: 0 });
    const registry = new Registry();
    const relays = picker({ registry });
    await relays.start();

    const picks = Array.from({ length: 30 }, () => relays.pick());

    // The idle node takes the first ten until it carries as many as the loaded one, then they alternate.
    expect(picks.slice(0, 10)).toEqual(Array(10).fill('idle.relay.test:21117'));
    expect(tally(picks)).toEqual({ 'idle.relay.test:21117': 20, 'loaded.relay.test:21117': 10 });
    for (let index = 10; index < 30; index += 2) expect(picks[index]).not.toBe(picks[index + 1]);
    const picksOf = (relay: string) =>
      counterValue(registry, 'switchboard_signal_relay_picks_total', { source: 'registry', relay });
    expect([await picksOf('idle'), await picksOf('loaded')]).toEqual([20, 10]);
  });

  it('breaks a tie on load by bytes per second', async () => {
    await announce('noisy', { sessions: 3, bytesPerSecond: 5_000_000 });
    await announce('quiet', { sessions: 3, bytesPerSecond: 1_000 });
    const relays = picker();
    await relays.start();

    expect(relays.pick()).toBe('quiet.relay.test:21117');
  });

  it('drops a node whose record lapses, on our clock even before Redis is read again', async () => {
    const dying = await announce('dying', { sessions: 0, bytesPerSecond: 0 }, { refreshMs: 100, ttlMs: 400 });
    const relays = picker({ staticRelays: ['static.test:21117'] });
    await relays.start();
    expect(relays.pick()).toBe('dying.relay.test:21117');

    await dying.stop(); // as if the relay died: no drain, the TTL alone must remove it
    await waitFor(() => relays.pick() === 'static.test:21117', 'the cached node to lapse', 2_000);
    // Our view lapses no later than Redis's: the remaining TTL is counted from before the read.
    await waitFor(
      async () => (await redis.admin.exists(redis.key('node:dying'))) === 0,
      'the key to lapse',
      500,
    );

    await relays.refresh();
    expect(relays.liveNodes()).toEqual([]);
    // The lister also cleans the index, so it does not grow with dead nodes.
    expect(await redis.admin.sismember(redis.key('nodes'), 'dying')).toBe(0);
  });

  it('forgets a drained node at once while its peers keep serving', async () => {
    const leaving = await announce('leaving', { sessions: 0, bytesPerSecond: 0 });
    await announce('staying', { sessions: 90, bytesPerSecond: 0 });
    const relays = picker();
    await relays.start();
    expect(relays.pick()).toBe('leaving.relay.test:21117');

    await leaving.drain();

    expect(await redis.admin.exists(redis.key('node:leaving'))).toBe(0);
    expect(await redis.admin.sismember(redis.key('nodes'), 'leaving')).toBe(0);
    await relays.refresh();
    expect(relays.pick()).toBe('staying.relay.test:21117');
    expect(relays.pick()).toBe('staying.relay.test:21117');
  });

  it('never picks a node that announces itself as draining', async () => {
    const full = await announce('full', { sessions: 0, bytesPerSecond: 0 });
    await announce('other', { sessions: 99, bytesPerSecond: 0 });
    const relays = picker();

    full.update({ sessions: 0, bytesPerSecond: 0, draining: true }); // goes out at once, not on the next tick
    await waitFor(
      async () => (await redis.admin.get(redis.key('node:full')))?.includes('\\"draining\\":true') ?? false,
      'the draining record',
    );
    await relays.start();

    expect(relays.liveNodes().map((node) => node.nodeId)).toEqual(['other']);
    expect(relays.pick()).toBe('other.relay.test:21117');
  });

  it('falls back to the static list in turn, and to an empty answer when it has nothing', async () => {
    const registry = new Registry();
    const withStatic = picker({ staticRelays: ['a.test:21117', 'b.test'], registry });
    const withNothing = picker();
    await Promise.all([withStatic.start(), withNothing.start()]);

    expect([withStatic.pick(), withStatic.pick(), withStatic.pick()]).toEqual([
      'a.test:21117',
      'b.test',
      'a.test:21117',
    ]);
    expect(withNothing.pick()).toBe('');
    expect(await counterValue(registry, 'switchboard_signal_relay_picks_total', { source: 'static' })).toBe(
      3,
    );
    expect(
      await counterValue(registry, 'switchboard_signal_relay_picks_total', {
        source: 'static',
        relay: 'b.test',
      }),
    ).toBe(1);
  });

  it('serves the static list while Redis is unreachable and the registry again once it is back', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', 6379);
    stoppers.push(() => proxy.close());
    await announce('alive', { sessions: 0, bytesPerSecond: 0 }, { refreshMs: 100, ttlMs: 400 });
    const logger = new RecordingLogger();
    const registry = new Registry();
    const relays = picker({
      redis: redis.serviceClient(proxy.url),
      staticRelays: ['static.test:21117'],
      refreshMs: 50,
      logger,
      registry,
    });
    await relays.start();
    expect(relays.pick()).toBe('alive.relay.test:21117');

    await proxy.cut();
    // Kept while its TTL lasts (a blip must not move every session), then the static list takes over.
    await waitFor(() => relays.pick() === 'static.test:21117', 'the static fallback', 3_000);
    expect(
      logger.withMessage('relay registry refresh failed; picking from cached and static relays'),
    ).toHaveLength(1);
    expect(
      await counterValue(registry, 'switchboard_signal_relay_registry_refresh_failures_total'),
    ).toBeGreaterThan(0);

    await proxy.restore();
    await waitFor(() => relays.pick() === 'alive.relay.test:21117', 'the registry again', 8_000);
    expect(logger.withMessage('relay registry readable again')).toHaveLength(1);
  }, 15_000);

  it('skips malformed records and reports each one once, never throwing', async () => {
    // Sealed with the shared key, so what is checked here is everything after the MAC.
    const put = (id: string, value: string, ttl = true) =>
      ttl
        ? redis.admin.set(redis.key(`node:${id}`), redis.recordKey.seal(id, value), 'PX', 60_000)
        : redis.admin.set(redis.key(`node:${id}`), redis.recordKey.seal(id, value));
    const valid = {
      address: 'x.test:21117',
      sessions: 0,
      bytesPerSecond: 0,
      capacity: 100,
      draining: false,
      updatedAt: 0,
    };
    await put('not-json', '{"nodeId":');
    await put('bad-schema', JSON.stringify({ ...valid, nodeId: 'bad-schema', capacity: 0 }));
    await put('no-ttl', JSON.stringify({ ...valid, nodeId: 'no-ttl' }), false);
    await put('impostor', JSON.stringify({ ...valid, nodeId: 'someone-else' }));
    await redis.admin.hset(redis.key('node:wrong-type'), 'a', 'b');
    await redis.admin.sadd(
      redis.key('nodes'),
      'not-json',
      'bad-schema',
      'no-ttl',
      'impostor',
      'wrong-type',
      'has space',
    );
    await announce('good', { sessions: 7, bytesPerSecond: 0 });
    const logger = new RecordingLogger();
    const registry = new Registry();
    const relays = picker({ logger, registry });

    await relays.start();
    await relays.refresh();

    expect(relays.liveNodes().map((node) => node.nodeId)).toEqual(['good']);
    expect(relays.pick()).toBe('good.relay.test:21117');
    const reported = logger
      .withMessage('malformed relay node record skipped')
      .map((entry) => entry.obj.nodeId);
    expect(reported.sort()).toEqual([
      'bad-schema',
      'has space',
      'impostor',
      'no-ttl',
      'not-json',
      'wrong-type',
    ]);
    expect(await gaugeValue(registry, 'switchboard_signal_relay_registry_malformed_records')).toBe(6);
  });

  it('never hands out a record written straight into Redis without the key', async () => {
    const rogue = (nodeId: string) =>
      JSON.stringify({
        nodeId,
        address: `${nodeId}.attacker.test:21117`,
        sessions: 0,
        bytesPerSecond: 0,
        capacity: 1_000_000,
        draining: false,
        updatedAt: 0,
      });
    // Less loaded than the genuine node by far, with a TTL and in the index: only the MAC is missing.
    await redis.admin.set(redis.key('node:plain'), rogue('plain'), 'PX', 60_000);
    await redis.admin.set(
      redis.key('node:other-key'),
      RelayRecordKey.generate().seal('other-key', rogue('other-key')),
      'PX',
      60_000,
    );
    // A genuine record copied under another node id: the MAC binds the id.
    await announce('genuine', { sessions: 50, bytesPerSecond: 0 });
    const copied = await redis.admin.get(redis.key('node:genuine'));
    await redis.admin.set(redis.key('node:copied'), copied ?? '', 'PX', 60_000);
    await redis.admin.sadd(redis.key('nodes'), 'plain', 'other-key', 'copied');
    const logger = new RecordingLogger();
    const relays = picker({ logger });

    await relays.start();

    expect(relays.liveNodes().map((node) => node.nodeId)).toEqual(['genuine']);
    expect(new Set(Array.from({ length: 5 }, () => relays.pick()))).toEqual(
      new Set(['genuine.relay.test:21117']),
    );
    const reasons = Object.fromEntries(
      logger
        .withMessage('malformed relay node record skipped')
        .map((entry) => [entry.obj.nodeId, entry.obj.reason]),
    );
    expect(reasons).toEqual({
      plain: 'record carries no MAC',
      'other-key': 'record MAC does not match',
      copied: 'record MAC does not match',
    });
  });

  it('picks up nodes in the background without being asked', async () => {
    const relays = picker({ staticRelays: ['static.test:21117'], refreshMs: 50 });
    await relays.start();
    expect(relays.pick()).toBe('static.test:21117');

    await announce('late', { sessions: 0, bytesPerSecond: 0 });

    await waitFor(() => relays.pick() === 'late.relay.test:21117', 'the background refresh', 2_000);
  });

  it('keeps answering from its cache while a refresh hangs on Redis', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', 6379);
    stoppers.push(() => proxy.close());
    await announce('cached', { sessions: 0, bytesPerSecond: 0 });
    const relays = picker({ redis: redis.serviceClient(proxy.url) });
    await relays.start();

    proxy.stall();
    let settled = false;
    const refreshing = relays.refresh().then(() => (settled = true));
    await sleep(200);

    expect(settled).toBe(false);
    const started = performance.now();
    const picks = Array.from({ length: 10_000 }, () => relays.pick());
    // Synchronous answers, so they cannot wait on Redis; the bound only catches a pathological pick
    // (a loaded CI host may pause this process for tens of milliseconds).
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(new Set(picks)).toEqual(new Set(['cached.relay.test:21117']));
    proxy.resume();
    await refreshing;
  });
});

async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label))
    .reduce((sum, value) => sum + value.value, 0);
}

const gaugeValue = counterValue;
