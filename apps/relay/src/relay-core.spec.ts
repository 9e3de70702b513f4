import { Duplex } from 'node:stream';

import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';

import { RelayConnection, type CloseReason } from './relay-connection';
import { DEFAULT_RELAY_LIMITS, RelayCore } from './relay-core';
import { encodeFrame, encodeFrameHeader } from '@switchboard/protocol';

const logger = createLogger({ name: 'relay-core-test', level: 'silent' });
const remote = { address: '192.0.2.20', port: 50000 };

function streamPair(): { server: Duplex; client: Duplex } {
  const ends: Duplex[] = [];
  const make = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        other().push(chunk);
        callback();
      },
      final(callback) {
        other().push(null);
        callback();
      },
    });
  ends.push(
    make(() => ends[1] as Duplex),
    make(() => ends[0] as Duplex),
  );
  return { server: ends[0] as Duplex, client: ends[1] as Duplex };
}

const closeOf = (stream: Duplex) => new Promise<void>((resolve) => stream.once('close', () => resolve()));

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
    .reduce((sum, value) => sum + value.value, 0);
}

describe('RelayConnection', () => {
  const limits = { firstFrameTimeoutMs: 150, maxFirstFrameBytes: 1024 };

  function open() {
    const { server, client } = streamPair();
    const seen: { frame?: Buffer; rest?: Buffer; reason?: CloseReason } = {};
    const connection = new RelayConnection(
      server,
      'tcp',
      remote,
      limits,
      {
        firstFrame: (_connection, frame, rest) => Object.assign(seen, { frame, rest }),
        closed: (_connection, reason) => (seen.reason = reason),
      },
      logger,
    );
    connection.start();
    return { server, client, connection, seen };
  }

  it('hands over the first frame and every byte after it untouched, however it was split', async () => {
    const { client, seen, server } = open();
    const requestRelay = Buffer.from('92011a0a0475756964', 'hex');
    const signedId = encodeFrame(Buffer.alloc(80, 0xab));
    const bytes = Buffer.concat([encodeFrame(requestRelay), signedId, Buffer.from([1, 2, 3])]);
    client.write(bytes.subarray(0, 2));
    client.write(bytes.subarray(2, 20));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.frame).toEqual(requestRelay);
    expect(seen.rest).toEqual(bytes.subarray(1 + requestRelay.length, 20));
    // After the first frame the relay stops reading: later bytes wait in the socket for the pairing.
    client.write(bytes.subarray(20));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.rest).toEqual(bytes.subarray(1 + requestRelay.length, 20));
    expect(server.isPaused()).toBe(true);
  });

  it('closes when no first frame arrives in time', async () => {
    const { server, seen } = open();
    await closeOf(server);
    expect(seen.reason).toBe('timeout');
    expect(seen.frame).toBeUndefined();
  });

  it('closes on an oversized first frame without waiting for it', async () => {
    const { server, client, seen } = open();
    const closed = closeOf(server);
    client.write(encodeFrameHeader(1025));
    await closed;
    expect(seen.reason).toBe('frame-too-large');
  });
});

describe('RelayCore', () => {
  let registry: Registry;
  beforeEach(() => (registry = createMetricsRegistry({ service: 'relay-test', defaultMetrics: false })));

  it('has hbbr-compatible defaults', () => {
    expect(DEFAULT_RELAY_LIMITS).toEqual({ firstFrameTimeoutMs: 30000, maxFirstFrameBytes: 16384 });
  });

  it('closes a connection once its RequestRelay arrives, until pairing exists', async () => {
    const core = new RelayCore({ logger, registry });
    const { server, client } = streamPair();
    core.handle(server, 'ws', remote);
    const closed = closeOf(server);
    client.write(encodeFrame(Buffer.from('92011a0a0475756964', 'hex')));
    await closed;
    expect(core.liveConnections).toBe(0);
    expect(
      await metric(registry, 'relay_connections_closed_total', { transport: 'ws', reason: 'unpaired' }),
    ).toBe(1);
  });

  it('drain waits for live connections to finish and refuses new ones meanwhile', async () => {
    const core = new RelayCore({ logger, registry });
    const live = streamPair();
    core.handle(live.server, 'tcp', remote);
    let drained: number | undefined;
    const draining = core.drain(5_000).then((cut) => (drained = cut));
    const late = streamPair();
    const lateClosed = closeOf(late.server);
    core.handle(late.server, 'tcp', remote);
    await lateClosed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(drained).toBeUndefined();
    live.server.destroy();
    await draining;
    expect(drained).toBe(0);
  });

  it('drain cuts what is still live at the deadline', async () => {
    const core = new RelayCore({ logger, registry });
    const live = streamPair();
    core.handle(live.server, 'tcp', remote);
    const closed = closeOf(live.server);
    const started = Date.now();
    expect(await core.drain(100)).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    await closed;
    expect(await metric(registry, 'relay_connections_closed_total', { reason: 'shutdown' })).toBe(1);
  });

  it('drain returns at once when nothing is live', async () => {
    const core = new RelayCore({ logger, registry });
    const started = Date.now();
    expect(await core.drain(5_000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(100);
  });
});
