import { Duplex } from 'node:stream';

import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';

import { SignalCore } from './signal-core';
import { encodeFrame, encodeFrameHeader } from '@switchboard/protocol';

const logger = createLogger({ name: 'signal-core-test', level: 'silent' });
const remote = { address: '192.0.2.10', port: 40000 };

/** Two in-memory ends of one connection: what the client writes the server reads, and back. */
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

const whenClosed = (stream: Duplex) =>
  new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));

/** The metric's value summed over every series matching `labels`. */
async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
    .reduce((sum, value) => sum + value.value, 0);
}

describe('SignalCore', () => {
  let registry: Registry;
  let core: SignalCore;
  beforeEach(() => {
    registry = createMetricsRegistry({ service: 'signal-test', defaultMetrics: false });
    core = new SignalCore({ logger, registry, limits: { messageTimeoutMs: 150 } });
  });
  afterEach(() => core.closeAll());

  it('has hbbs-compatible defaults for every limit', () => {
    const defaults = new SignalCore({
      logger,
      registry: createMetricsRegistry({ service: 'x', defaultMetrics: false }),
    });
    expect(defaults.limits).toEqual({ maxFrameBytes: 65536, messageTimeoutMs: 30000 });
  });

  it('closes a connection whose header announces more than 64 KiB, before the payload arrives', async () => {
    registry = createMetricsRegistry({ service: 'signal-test', defaultMetrics: false });
    core = new SignalCore({ logger, registry });
    const { server, client } = streamPair();
    core.handle(server, 'tcp', remote);
    expect(core.openConnections).toBe(1);
    client.write(encodeFrameHeader(64 * 1024 + 1));
    await whenClosed(server);
    expect(core.openConnections).toBe(0);
    expect(await metric(registry, 'signal_connections_closed_total', { reason: 'frame-too-large' })).toBe(1);
  });

  it('closes a connection that sends nothing within the message timeout', async () => {
    const { server } = streamPair();
    const started = Date.now();
    core.handle(server, 'nat-test', remote);
    await whenClosed(server);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(
      await metric(registry, 'signal_connections_closed_total', { listener: 'nat-test', reason: 'timeout' }),
    ).toBe(1);
  });

  it('treats empty frames as heartbeats that restart the timeout', async () => {
    const { server, client } = streamPair();
    core.handle(server, 'tcp', remote);
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 80));
      client.write(encodeFrame(Buffer.alloc(0)));
    }
    expect(server.destroyed).toBe(false);
    await whenClosed(server);
    expect(await metric(registry, 'signal_connections_closed_total', { reason: 'timeout' })).toBe(1);
  });

  it('closes after a message no handler claims yet, flushing rather than resetting', async () => {
    const { server, client } = streamPair();
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    client.resume();
    core.handle(server, 'ws', remote);
    // RendezvousMessage{register_peer{id:"123456789"}} (RUSTDESK.md §2) arriving in two pieces.
    const frame = encodeFrame(Buffer.from('320b0a09313233343536373839', 'hex'));
    client.write(frame.subarray(0, 3));
    client.write(frame.subarray(3));
    await ended;
    await whenClosed(server);
    expect(
      await metric(registry, 'signal_connections_closed_total', {
        listener: 'ws',
        reason: 'unhandled-message',
      }),
    ).toBe(1);
  });

  it('keeps other connections serving when one misbehaves', async () => {
    const bad = streamPair();
    const good = streamPair();
    core.handle(bad.server, 'tcp', remote);
    core.handle(good.server, 'tcp', { address: '192.0.2.11', port: 1 });
    const closed = new Promise((resolve) => bad.server.once('close', resolve));
    bad.server.destroy(new Error('ECONNRESET'));
    await closed;
    expect(good.server.destroyed).toBe(false);
    expect(core.openConnections).toBe(1);
    expect(await metric(registry, 'signal_connections_closed_total', { reason: 'stream-error' })).toBe(1);
  });

  it('counts connections per listener and datagrams', async () => {
    core.handle(streamPair().server, 'tcp', remote);
    core.handle(streamPair().server, 'tcp', remote);
    core.handle(streamPair().server, 'ws', remote);
    core.handleDatagram(Buffer.from('x'), remote, () => undefined);
    expect(await metric(registry, 'signal_connections_accepted_total', { listener: 'tcp' })).toBe(2);
    expect(await metric(registry, 'signal_connections_open', { listener: 'tcp' })).toBe(2);
    expect(await metric(registry, 'signal_connections_open', { listener: 'ws' })).toBe(1);
    expect(await metric(registry, 'signal_datagrams_received_total', {})).toBe(1);
  });

  it('closeAll drops every connection and refuses later ones', async () => {
    const pairs = [streamPair(), streamPair()];
    for (const pair of pairs) core.handle(pair.server, 'tcp', remote);
    core.closeAll();
    await Promise.all(pairs.map((pair) => whenClosed(pair.server)));
    const late = streamPair();
    core.handle(late.server, 'ws', remote);
    await whenClosed(late.server);
    expect(core.openConnections).toBe(0);
    expect(await metric(registry, 'signal_connections_closed_total', { reason: 'shutdown' })).toBe(3);
    expect(await metric(registry, 'signal_connections_open', { listener: 'tcp' })).toBe(0);
  });
});
