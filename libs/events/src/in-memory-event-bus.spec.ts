import { ZodError } from 'zod';

import { type ResyncReason } from './event-bus';
import { EventSigningKey } from './event-signing';
import { InMemoryEventBus } from './in-memory-event-bus';
import { RecordingLogger } from './test-support/recording-logger';

const ban = (deviceId: string) => ({ deviceId, actor: 'admin' });

/** A bus whose subscriber writes every resync and every event into one timeline, in the order they ran. */
function recordingBus(options: { resyncRetryDelayMs?: number } = {}) {
  const logger = new RecordingLogger();
  const bus = new InMemoryEventBus({ logger, now: () => new Date('2025-06-01T12:00:00.000Z'), ...options });
  const timeline: string[] = [];
  bus.onResync((reason) => {
    timeline.push(`resync:${reason}`);
  });
  bus.on('DeviceBanned', (event) => {
    timeline.push(`banned:${event.seq}:${event.payload.deviceId}`);
  });
  bus.on('DeviceUnbanned', (event) => {
    timeline.push(`unbanned:${event.seq}:${event.payload.deviceId}`);
  });
  return { bus, logger, timeline };
}

describe('InMemoryEventBus', () => {
  it('delivers a typed envelope with seq and publish time', async () => {
    const { bus } = recordingBus();
    const received: unknown[] = [];
    bus.on('DeviceRevoked', (event) => {
      received.push(event);
    });
    await bus.start();

    const seq = await bus.publish('DeviceRevoked', { deviceId: '111', cascade: ['222'], actor: 'op' });

    expect(seq).toBe(1);
    expect(received).toEqual([
      {
        type: 'DeviceRevoked',
        seq: 1,
        at: '2025-06-01T12:00:00.000Z',
        payload: { deviceId: '111', cascade: ['222'], actor: 'op' },
      },
    ]);
  });

  it('resyncs with "start" before any event, and counts events published before start into the baseline', async () => {
    const { bus, timeline } = recordingBus();
    await bus.publish('DeviceBanned', ban('early'));
    expect(bus.ready).toBe(false);

    await bus.start();
    expect(bus.ready).toBe(true);
    await bus.publish('DeviceBanned', ban('late'));

    expect(timeline).toEqual(['resync:start', 'banned:2:late']);
  });

  it('routes events by type in seq order', async () => {
    const { bus, timeline } = recordingBus();
    await bus.start();
    await bus.publish('DeviceBanned', ban('a'));
    await bus.publish('DeviceUnbanned', ban('a'));
    await bus.publish('DeviceApproved', ban('b')); // no handler: still takes seq 3
    await bus.publish('DeviceBanned', ban('c'));

    expect(timeline).toEqual(['resync:start', 'banned:1:a', 'unbanned:2:a', 'banned:4:c']);
  });

  it('resyncs once with "gap" when an event is lost, then carries on', async () => {
    const { bus, timeline } = recordingBus();
    await bus.start();
    await bus.publish('DeviceBanned', ban('a'));
    bus.dropNext();
    await bus.publish('DeviceBanned', ban('lost'));
    // seq 3 reveals the gap; the resync reads baseline 3, so the reload covers it.
    await bus.publish('DeviceBanned', ban('c'));
    await bus.publish('DeviceBanned', ban('d'));

    expect(timeline).toEqual(['resync:start', 'banned:1:a', 'resync:gap', 'banned:4:d']);
    expect(bus.ready).toBe(true);
  });

  it('is not ready while a resync runs, and resyncs with "reconnect" on a simulated reconnect', async () => {
    const { bus, timeline } = recordingBus();
    const readyDuringResync: boolean[] = [];
    bus.onResync(() => {
      readyDuringResync.push(bus.ready);
    });
    await bus.start();

    await bus.simulateReconnect();
    await bus.publish('DeviceBanned', ban('a'));

    expect(timeline).toEqual(['resync:start', 'resync:reconnect', 'banned:1:a']);
    expect(readyDuringResync).toEqual([false, false]);
    expect(bus.ready).toBe(true);
  });

  it('delivers, after the resync, events published while it ran', async () => {
    const { bus, timeline } = recordingBus();
    let published = false;
    bus.onResync(async () => {
      if (published) return;
      published = true;
      // Publishing from inside a handler must not wait for itself.
      await bus.publish('DeviceBanned', ban('during'));
      timeline.push('resync-done');
    });

    await bus.start();
    await bus.flush();

    expect(timeline).toEqual(['resync:start', 'resync-done', 'banned:1:during']);
  });

  it('keeps delivering after a handler throws, and logs the failure', async () => {
    const { bus, logger, timeline } = recordingBus();
    bus.on('DeviceBanned', (event) => {
      if (event.payload.deviceId === 'boom') throw new Error('handler bug');
    });
    await bus.start();

    await bus.publish('DeviceBanned', ban('boom'));
    await bus.publish('DeviceBanned', ban('after'));

    expect(timeline).toEqual(['resync:start', 'banned:1:boom', 'banned:2:after']);
    const failure = logger.entries.find((entry) => entry.msg === 'event handler failed');
    expect(failure?.obj).toMatchObject({ type: 'DeviceBanned', seq: 1, err: new Error('handler bug') });
  });

  it('retries a failing resync and holds events back until it succeeds', async () => {
    const { bus, logger, timeline } = recordingBus({ resyncRetryDelayMs: 5 });
    let failuresLeft = 2;
    bus.onResync(() => {
      if (failuresLeft-- > 0) throw new Error('database down');
    });
    await bus.start();

    expect(logger.messages('error')).toEqual([
      'event resync failed; will retry',
      'event resync failed; will retry',
    ]);
    expect(timeline).toEqual(['resync:start', 'resync:start', 'resync:start']);
    await bus.publish('DeviceBanned', ban('a'));
    expect(timeline.at(-1)).toBe('banned:1:a');
  });

  it('logs and drops a malformed message without disturbing the sequence', async () => {
    const { bus, logger, timeline } = recordingBus();
    await bus.start();

    await bus.receiveSigned('{not json');
    await bus.receiveSigned(JSON.stringify({ type: 'DeviceBanned', payload: ban('x') }));
    await bus.publish('DeviceBanned', ban('a'));

    expect(timeline).toEqual(['resync:start', 'banned:1:a']);
    expect(logger.messages('error')).toEqual(['malformed event dropped', 'malformed event dropped']);
  });

  it('drops a forged frame for the next seq without counting it, so the genuine event still arrives', async () => {
    const { bus, logger, timeline } = recordingBus();
    await bus.start();
    const forgedBody = JSON.stringify({
      type: 'DeviceBanned',
      seq: 1,
      at: new Date().toISOString(),
      payload: ban('x'),
    });
    const otherKey = EventSigningKey.generate();

    await bus.receiveRaw(forgedBody);
    await bus.receiveRaw(JSON.stringify({ body: forgedBody, sig: Buffer.alloc(64).toString('base64') }));
    await bus.receiveRaw(otherKey.seal('in-memory', forgedBody));
    await bus.publish('DeviceBanned', ban('a'));

    expect(timeline).toEqual(['resync:start', 'banned:1:a']);
    expect(bus.rejectedFrames).toBe(3);
    // Logged at the 1st, 2nd and 4th rejection, not at every one.
    expect(logger.messages('error')).toEqual([
      'unauthenticated event dropped',
      'unauthenticated event dropped',
    ]);
  });

  it('drops a forged frame far ahead of the seq without a resync', async () => {
    const { bus, timeline } = recordingBus();
    await bus.start();

    await bus.receiveRaw(
      JSON.stringify({ type: 'DeviceBanned', seq: 1000, at: new Date().toISOString(), payload: ban('x') }),
    );
    await bus.publish('DeviceBanned', ban('a'));

    expect(timeline).toEqual(['resync:start', 'banned:1:a']);
  });

  it('resyncs when an event of a known type carries an invalid payload', async () => {
    const { bus, logger, timeline } = recordingBus();
    await bus.start();

    const seq = bus.reserveSeq();
    await bus.receiveSigned(
      JSON.stringify({ type: 'DeviceBanned', seq, at: new Date().toISOString(), payload: {} }),
    );
    await bus.publish('DeviceBanned', ban('a'));

    expect(timeline).toEqual(['resync:start', 'resync:gap', 'banned:2:a']);
    expect(logger.messages('error')).toEqual(['invalid event dropped']);
  });

  it('skips an unknown event type without a resync', async () => {
    const { bus, timeline } = recordingBus();
    await bus.start();

    const seq = bus.reserveSeq();
    await bus.receiveSigned(
      JSON.stringify({ type: 'FutureThing', seq, at: new Date().toISOString(), payload: {} }),
    );
    await bus.publish('DeviceBanned', ban('a'));

    expect(timeline).toEqual(['resync:start', 'banned:2:a']);
  });

  it('rejects an invalid payload at publish time without using a seq', async () => {
    const { bus } = recordingBus();
    await bus.start();

    await expect(bus.publish('DeviceBanned', { deviceId: 'has space', actor: 'a' })).rejects.toThrow(
      ZodError,
    );
    expect(bus.currentSeq).toBe(0);
  });

  it('stops calling a handler once unsubscribed', async () => {
    const { bus } = recordingBus();
    const seen: number[] = [];
    const unsubscribe = bus.on('DeviceBanned', (event) => {
      seen.push(event.seq);
    });
    await bus.start();
    await bus.publish('DeviceBanned', ban('a'));
    unsubscribe();
    await bus.publish('DeviceBanned', ban('b'));

    expect(seen).toEqual([1]);
  });

  it('delivers nothing after stop and rejects readiness waiters', async () => {
    const { bus, timeline } = recordingBus();
    await bus.start();
    await bus.stop();

    await bus.publish('DeviceBanned', ban('a'));

    expect(timeline).toEqual(['resync:start']);
    expect(bus.ready).toBe(false);
    await expect(bus.whenReady()).rejects.toThrow('stopped');
  });

  it('makes start() reject if stopped before the first resync succeeds', async () => {
    const bus = new InMemoryEventBus({ logger: new RecordingLogger(), resyncRetryDelayMs: 1000 });
    const reasons: ResyncReason[] = [];
    bus.onResync((reason) => {
      reasons.push(reason);
      throw new Error('never works');
    });
    const started = bus.start();
    await new Promise((resolve) => setImmediate(resolve));
    await bus.stop();

    await expect(started).rejects.toThrow('stopped');
    expect(reasons).toEqual(['start']);
  });
});
