import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import { createMetricsRegistry } from '@switchboard/observability';
import { metric as registryMetric, waitFor } from '@switchboard/test-net';

import { type EventEnvelope } from './envelope';
import { type ResyncReason } from './event-bus';
import { EventSigningKey } from './event-signing';
import { RedisEventBus } from './redis-event-bus';
import { RecordingLogger } from './test-support/recording-logger';

const REDIS_URL = 'redis://127.0.0.1:6379';

describe('RedisEventBus (real Redis)', () => {
  let prefix: string;
  let admin: Redis;
  let buses: RedisEventBus[];
  let signingKey: EventSigningKey;

  beforeEach(() => {
    prefix = `test:events:${randomUUID()}`;
    signingKey = EventSigningKey.generate();
    admin = new Redis(REDIS_URL);
    buses = [];
  });

  afterEach(async () => {
    await Promise.all(buses.map((bus) => bus.stop()));
    await admin.del(`${prefix}:seq`);
    await admin.quit();
  });

  function newBus(logger = new RecordingLogger(), now?: () => Date): RedisEventBus {
    const bus = new RedisEventBus({
      redis: REDIS_URL,
      prefix,
      signingKey,
      logger,
      now,
      resyncRetryDelayMs: 20,
    });
    buses.push(bus);
    return bus;
  }

  /** A subscriber that writes resyncs and DeviceBanned events into one timeline, in the order they ran. */
  function recordingSubscriber() {
    const logger = new RecordingLogger();
    const bus = newBus(logger);
    const timeline: string[] = [];
    const reasons: ResyncReason[] = [];
    const seqs: number[] = [];
    bus.onResync((reason) => {
      reasons.push(reason);
      timeline.push(`resync:${reason}`);
    });
    bus.on('DeviceBanned', (event) => {
      seqs.push(event.seq);
      timeline.push(`banned:${event.seq}`);
    });
    return { bus, logger, timeline, reasons, seqs };
  }

  async function subscriberClientId(): Promise<string> {
    const list = (await admin.client('LIST')) as string;
    const line = list.split('\n').find((entry) => entry.includes(` name=${prefix}:subscriber `));
    const id = line?.match(/^id=(\d+) /)?.[1];
    if (id === undefined) throw new Error('subscriber connection not found in CLIENT LIST');
    return id;
  }

  it('round-trips a typed event between two instances', async () => {
    const subscriber = newBus();
    const received: Array<EventEnvelope<'DeviceRevoked'>> = [];
    subscriber.on('DeviceRevoked', (event) => {
      received.push(event);
    });
    await subscriber.start();
    const publisher = newBus(new RecordingLogger(), () => new Date('2025-06-01T12:00:00.000Z'));

    const seq = await publisher.publish('DeviceRevoked', { deviceId: 'host_1', cascade: [], actor: 'op' });

    await waitFor(() => received.length === 1, 'the event');
    // An empty cascade must stay an array (a Lua cjson round trip would have made it {}).
    expect(received[0]).toEqual({
      type: 'DeviceRevoked',
      seq,
      at: '2025-06-01T12:00:00.000Z',
      payload: { deviceId: 'host_1', cascade: [], actor: 'op' },
    });
    expect(seq).toBe(1);
  });

  it('delivers 2×500 concurrent publishes in strictly increasing seq order, with no gap and no resync', async () => {
    const { bus, reasons, seqs } = recordingSubscriber();
    await bus.start();
    const [a, b] = [newBus(), newBus()];

    const startedAt = performance.now();
    // Ten chains of 50 sequential publishes per publisher: replies and next sends interleave across the two
    // connections, which is what reorders a non-atomic INCR-then-PUBLISH.
    const publishMany = async (publisher: RedisEventBus, tag: string) => {
      const chains = Array.from({ length: 10 }, async (_, chain) => {
        const published: number[] = [];
        for (let i = 0; i < 50; i++) {
          published.push(
            await publisher.publish('DeviceBanned', { deviceId: `${tag}${chain}x${i}`, actor: tag }),
          );
        }
        return published;
      });
      return (await Promise.all(chains)).flat();
    };
    const [seqsA, seqsB] = await Promise.all([publishMany(a, 'a'), publishMany(b, 'b')]);
    await waitFor(() => seqs.length === 1000, '1000 events', 15_000);
    const elapsedMs = performance.now() - startedAt;

    expect(seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect([...seqsA, ...seqsB].sort((x, y) => x - y)).toEqual(seqs);
    expect(reasons).toEqual(['start']);
    console.info(`1000 events from 2 concurrent publishers delivered in ${elapsedMs.toFixed(0)} ms`);
  }, 20_000);

  it("waits out another publisher's turn, and publishes once a claim left by a dead publisher expires", async () => {
    const publisher = newBus();
    await publisher.publish('DeviceBanned', { deviceId: 'first', actor: 'x' });
    // A publisher that lost a round, then died before taking its turn.
    await admin.set(`${prefix}:publish-turn`, 'a-dead-publisher', 'PX', 400);
    const startedAt = performance.now();
    expect(await publisher.publish('DeviceBanned', { deviceId: 'second', actor: 'x' })).toBe(2);
    // Not before the claim lapsed (less a little for Redis's expiry clock).
    expect(performance.now() - startedAt).toBeGreaterThan(300);
    expect(await admin.exists(`${prefix}:publish-turn`)).toBe(0);
  });

  it('resyncs exactly once with "gap" when a seq is skipped, then keeps delivering', async () => {
    const { bus, logger, reasons, timeline } = recordingSubscriber();
    await bus.start();
    const publisher = newBus();

    await publisher.publish('DeviceBanned', { deviceId: 'a', actor: 'x' });
    await admin.incr(`${prefix}:seq`); // seq 2 is never published
    await publisher.publish('DeviceBanned', { deviceId: 'c', actor: 'x' }); // seq 3 reveals the gap
    await waitFor(() => reasons.includes('gap') && bus.ready, 'the gap resync');
    await publisher.publish('DeviceBanned', { deviceId: 'd', actor: 'x' });
    await waitFor(() => timeline.includes('banned:4'), 'the event after the gap');

    // seq 3 arrived before the resync read its baseline (3), so the reload covers it.
    expect(timeline).toEqual(['resync:start', 'banned:1', 'resync:gap', 'banned:4']);
    expect(reasons).toEqual(['start', 'gap']);
    expect(logger.entries.find((entry) => entry.msg.includes('gap'))?.obj).toEqual({
      expected: 2,
      received: 3,
    });
    expect(bus.ready).toBe(true);
  });

  it('after its connection is killed, resyncs with "reconnect" before delivering anything else', async () => {
    const { bus, reasons, timeline } = recordingSubscriber();
    const publisher = newBus();
    const readyDuringResync: boolean[] = [];
    bus.onResync(async (reason) => {
      readyDuringResync.push(bus.ready);
      if (reason !== 'reconnect') return;
      // Published after the baseline was read and while the reload runs: must follow the resync, not vanish.
      const seq = await publisher.publish('DeviceBanned', { deviceId: 'during', actor: 'x' });
      timeline.push(`published-during-resync:${seq}`);
    });
    await bus.start();
    await publisher.publish('DeviceBanned', { deviceId: 'before', actor: 'x' });
    await waitFor(() => timeline.includes('banned:1'), 'the first event');

    await admin.client('KILL', 'ID', await subscriberClientId());
    await waitFor(() => reasons.includes('reconnect'), 'the reconnect resync');
    await bus.whenReady();
    await publisher.publish('DeviceBanned', { deviceId: 'after', actor: 'x' });
    await waitFor(() => timeline.includes('banned:3'), 'the event after the reconnect');

    expect(timeline).toEqual([
      'resync:start',
      'banned:1',
      'resync:reconnect',
      'published-during-resync:2',
      'banned:2',
      'banned:3',
    ]);
    expect(readyDuringResync).toEqual([false, false]);
  });

  it('logs and drops malformed messages on the channel without delivering them or resyncing', async () => {
    const { bus, logger, reasons, timeline } = recordingSubscriber();
    await bus.start();

    await admin.publish(prefix, 'definitely not json');
    await admin.publish(
      prefix,
      signingKey.seal(
        prefix,
        JSON.stringify({ type: 'DeviceBanned', payload: { deviceId: 'x', actor: 'y' } }),
      ),
    );
    await newBus().publish('DeviceBanned', { deviceId: 'ok', actor: 'x' });
    await waitFor(() => timeline.includes('banned:1'), 'the valid event');

    expect(timeline).toEqual(['resync:start', 'banned:1']);
    expect(reasons).toEqual(['start']);
    expect(logger.messages('error')).toEqual(['unauthenticated event dropped', 'malformed event dropped']);
  });

  it('drops forged frames for the next seq without counting them: the genuine event with that seq is delivered', async () => {
    const logger = new RecordingLogger();
    const subscriber = new RedisEventBus({
      redis: REDIS_URL,
      prefix,
      verifyKey: signingKey.verifyKey,
      logger,
      resyncRetryDelayMs: 20,
    });
    buses.push(subscriber);
    const timeline: string[] = [];
    subscriber.onResync((reason) => void timeline.push(`resync:${reason}`));
    subscriber.on(
      'DeviceUnbanned',
      (event) => void timeline.push(`unbanned:${event.seq}:${event.payload.deviceId}`),
    );
    subscriber.on(
      'DeviceBanned',
      (event) => void timeline.push(`banned:${event.seq}:${event.payload.deviceId}`),
    );
    await subscriber.start();

    // What a Redis writer without the api's key can do: the next seq, unsigned, self-signed, far ahead.
    const forged = (seq: number) =>
      JSON.stringify({
        type: 'DeviceUnbanned',
        seq,
        at: new Date().toISOString(),
        payload: { deviceId: 'victim', actor: 'x' },
      });
    await admin.publish(prefix, forged(1));
    await admin.publish(prefix, EventSigningKey.generate().seal(prefix, forged(1)));
    await admin.publish(
      prefix,
      JSON.stringify({ body: forged(1), sig: Buffer.alloc(64).toString('base64') }),
    );
    await admin.publish(prefix, EventSigningKey.generate().seal(prefix, forged(500)));
    await newBus().publish('DeviceBanned', { deviceId: 'genuine', actor: 'x' });
    await waitFor(() => timeline.includes('banned:1:genuine'), 'the genuine event');

    expect(timeline).toEqual(['resync:start', 'banned:1:genuine']);
    expect(subscriber.rejectedFrames).toBe(4);
    expect(logger.messages('error')).toEqual([
      'unauthenticated event dropped',
      'unauthenticated event dropped',
      'unauthenticated event dropped',
    ]);
  });

  it('measures applied events and their lag from the publish time, gaps, resyncs, forged frames and readiness', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    // The subscriber's clock runs 40 ms behind the moment each event says it was published.
    let publishedAt = Date.parse('2026-01-01T00:00:00.000Z');
    const subscriber = new RedisEventBus({
      redis: REDIS_URL,
      prefix,
      verifyKey: signingKey.verifyKey,
      registry,
      now: () => new Date(publishedAt + 40),
      resyncRetryDelayMs: 20,
    });
    buses.push(subscriber);
    const banned: number[] = [];
    subscriber.on('DeviceBanned', (event) => void banned.push(event.seq));
    const metric = (name: string, labels?: Record<string, string>, series?: string) =>
      registryMetric(registry, name, labels, series);
    expect(await metric('switchboard_events_subscriber_ready')).toBe(0);
    await subscriber.start();
    expect(await metric('switchboard_events_subscriber_ready')).toBe(1);

    const publisher = newBus(new RecordingLogger(), () => new Date(publishedAt));
    await publisher.publish('DeviceBanned', { deviceId: 'a', actor: 'x' });
    await publisher.publish('DeviceBanned', { deviceId: 'b', actor: 'x' });
    await admin.incr(`${prefix}:seq`); // seq 3 is lost
    await publisher.publish('DeviceUnbanned', { deviceId: 'c', actor: 'x' }); // reveals the gap; the resync covers it
    await admin.publish(prefix, EventSigningKey.generate().seal(prefix, '{"forged":true}'));
    await waitFor(
      async () => (await metric('switchboard_events_resyncs_total', { reason: 'gap' })) === 1,
      'gap',
    );
    await publisher.publish('DeviceBanned', { deviceId: 'd', actor: 'x' });
    await waitFor(() => banned.includes(5), 'the event after the gap');

    expect(await metric('switchboard_events_applied_total', { type: 'DeviceBanned' })).toBe(3);
    expect(await metric('switchboard_events_applied_total', { type: 'DeviceUnbanned' })).toBe(0);
    expect(await metric('switchboard_events_gaps_total')).toBe(1);
    expect(await metric('switchboard_events_resyncs_total', { reason: 'start' })).toBe(1);
    expect(await metric('switchboard_events_rejected_frames_total')).toBe(1);
    // 40 ms each: in the (0.025, 0.05] bucket, none in the one below.
    const LAG = 'switchboard_events_apply_lag_seconds';
    const lag = (le: string) => metric(LAG, { type: 'DeviceBanned', le }, `${LAG}_bucket`);
    expect(await lag('0.025')).toBe(0);
    expect(await lag('0.05')).toBe(3);
    expect(await metric(LAG, { type: 'DeviceBanned' }, `${LAG}_sum`)).toBeCloseTo(0.12, 6);

    // An event stamped ahead of the subscriber's clock (hosts out of step) counts as no lag.
    publishedAt += 1_000;
    await newBus(new RecordingLogger(), () => new Date(publishedAt + 1_000)).publish('DeviceBanned', {
      deviceId: 'e',
      actor: 'x',
    });
    await waitFor(() => banned.includes(6), 'the early event');
    expect(await lag('0.001')).toBe(1);
  });

  it('a subscriber holding only the verify key cannot publish', async () => {
    const subscriber = new RedisEventBus({ redis: REDIS_URL, prefix, verifyKey: signingKey.verifyKey });
    buses.push(subscriber);
    await expect(subscriber.publish('DeviceUnbanned', { deviceId: 'victim', actor: 'x' })).rejects.toThrow(
      'no signing key',
    );
    expect(await admin.get(`${prefix}:seq`)).toBeNull();
  });

  it('drops an event whose payload is invalid and resyncs, since its meaning is lost', async () => {
    const { bus, logger, reasons, timeline } = recordingSubscriber();
    await bus.start();

    const seq = await admin.incr(`${prefix}:seq`);
    const at = new Date().toISOString();
    await admin.publish(
      prefix,
      signingKey.seal(
        prefix,
        JSON.stringify({ type: 'DeviceBanned', seq, at, payload: { deviceId: 'no actor' } }),
      ),
    );
    await newBus().publish('DeviceBanned', { deviceId: 'ok', actor: 'x' });
    await waitFor(() => timeline.includes('banned:2'), 'the valid event');

    expect(reasons).toEqual(['start', 'gap']);
    expect(timeline).toEqual(['resync:start', 'resync:gap', 'banned:2']);
    expect(logger.messages('error')).toEqual(['invalid event dropped']);
  });

  it('runs the "start" resync before any handler while events are already flowing', async () => {
    const publisher = newBus();
    let publishing = true;
    let lastPublished = 0;
    const background = (async () => {
      while (publishing)
        lastPublished = await publisher.publish('DeviceBanned', { deviceId: 'bg', actor: 'x' });
    })();
    await waitFor(() => lastPublished >= 5, 'background publishing');
    const { bus, timeline, seqs } = recordingSubscriber();
    let duringStart = 0;
    bus.onResync(async () => {
      duringStart = await publisher.publish('DeviceBanned', { deviceId: 'during', actor: 'x' });
    });
    expect(bus.ready).toBe(false);

    await bus.start();
    expect(bus.ready).toBe(true);
    await waitFor(() => seqs.includes(duringStart) && seqs.length >= 20, 'events after start');
    publishing = false;
    await background;

    expect(timeline[0]).toBe('resync:start');
    expect(timeline.filter((entry) => entry.startsWith('resync'))).toEqual(['resync:start']);
    // Consecutive from just above the baseline: nothing after the baseline was lost or reordered.
    const first = seqs[0] ?? 0;
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => first + i));
    expect(first).toBeGreaterThan(1);
  });

  it('stop() closes both connections, and a start() still waiting for Redis rejects', async () => {
    const bus = newBus();
    await bus.start();
    await bus.publish('DeviceBanned', { deviceId: 'a', actor: 'x' });
    await bus.stop();
    const clients = (await admin.client('LIST')) as string;
    expect(clients).not.toContain(`name=${prefix}:`);
    await expect(bus.publish('DeviceBanned', { deviceId: 'a', actor: 'x' })).rejects.toThrow('stopped');

    const unreachable = new RedisEventBus({
      redis: { host: '127.0.0.1', port: 1, retryStrategy: () => 20, maxRetriesPerRequest: 1 },
      prefix,
      signingKey,
      logger: new RecordingLogger(),
      resyncRetryDelayMs: 20,
    });
    const started = unreachable.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(unreachable.ready).toBe(false);
    const startFailure = expect(started).rejects.toThrow('stopped');
    await unreachable.stop();
    await startFailure;
  });
});
