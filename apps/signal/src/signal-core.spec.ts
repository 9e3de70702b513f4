import { encodeFrame, encodeFrameHeader } from '@switchboard/protocol';
import { streamPair } from '@switchboard/test-net';

import { DEFAULT_SIGNAL_LIMITS } from './signal-core';
import { CoreHarness, ManualClock, peerIdentity } from './test/core-harness';

const remote = { address: '192.0.2.10', port: 40000 };

const whenClosed = (stream: NodeJS.EventEmitter & { closed: boolean }) =>
  new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));

describe('SignalCore connections', () => {
  let harness: CoreHarness;
  beforeEach(() => {
    harness = new CoreHarness({ key: 'none', limits: { messageTimeoutMs: 150 } });
  });
  afterEach(() => harness.close());

  it('has hbbs-compatible defaults for the connection limits', () => {
    expect(DEFAULT_SIGNAL_LIMITS).toMatchObject({
      maxFrameBytes: 65536,
      messageTimeoutMs: 30000,
      onlineWindowMs: 30000,
      punchMapCap: 10000,
      punchMapTtlMs: 120000,
    });
  });

  it('closes a connection whose header announces more than 64 KiB, before the payload arrives', async () => {
    const client = harness.connect('tcp', remote);
    client.sendRaw(encodeFrameHeader(64 * 1024 + 1));
    await client.closed;
    expect(harness.core.openConnections).toBe(0);
    expect(
      await harness.metric('switchboard_signal_connections_closed_total', { reason: 'frame-too-large' }),
    ).toBe(1);
    expect(
      await harness.metric('switchboard_signal_frame_errors_total', { transport: 'tcp', kind: 'too-large' }),
    ).toBe(1);
  });

  it('closes a connection that sends nothing within the message timeout', async () => {
    const started = Date.now();
    const client = harness.connect('nat-test', remote);
    await client.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(
      await harness.metric('switchboard_signal_connections_closed_total', {
        listener: 'nat-test',
        reason: 'timeout',
      }),
    ).toBe(1);
  });

  it('closes a connection that never registers at the first-message timeout, whatever empty frames it sends', async () => {
    const client = harness.connect('tcp', remote);
    // Before the fix these kept it open for ever: each one restarted the timeout.
    const beating = setInterval(() => client.sendHeartbeat(), 20);
    await client.closed;
    clearInterval(beating);
    expect(await harness.metric('switchboard_signal_connections_closed_total', { reason: 'timeout' })).toBe(
      1,
    );
  });

  it('lets empty frames keep a registered link alive, as the client echoes our pings', async () => {
    harness.close();
    harness = new CoreHarness({ key: 'none', limits: { messageTimeoutMs: 150, linkIdleTimeoutMs: 400 } });
    const client = harness.connect('tcp', remote);
    const { uuid, pk } = peerIdentity(3);
    client.send({
      $case: 'registerPk',
      value: { id: 'linked01', uuid, pk, oldId: '', noRegisterDevice: false },
    });
    expect((await client.expect('registerPkResponse')).keepAlive).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      client.sendHeartbeat();
    }
    expect(harness.core.openConnections).toBe(1);
    await client.closed;
    expect(await harness.metric('switchboard_signal_connections_closed_total', { reason: 'timeout' })).toBe(
      1,
    );
  });

  it('closes on garbage and counts the frame error', async () => {
    const client = harness.connect('ws', remote);
    const frame = encodeFrame(Buffer.from('ffffffff', 'hex'));
    client.sendRaw(frame.subarray(0, 2));
    client.sendRaw(frame.subarray(2));
    await client.closed;
    expect(
      await harness.metric('switchboard_signal_connections_closed_total', {
        listener: 'ws',
        reason: 'bad-message',
      }),
    ).toBe(1);
    expect(
      await harness.metric('switchboard_signal_frame_errors_total', { transport: 'ws', kind: 'malformed' }),
    ).toBe(1);
  });

  it('closes after a message this listener does not serve', async () => {
    const client = harness.connect('tcp', remote);
    // RendezvousMessage{register_peer{id:"123456789"}} (docs/protocol.md §2) is UDP-only.
    client.sendRaw(encodeFrame(Buffer.from('320b0a09313233343536373839', 'hex')));
    await client.closed;
    expect(
      await harness.metric('switchboard_signal_messages_total', { transport: 'tcp', type: 'registerPeer' }),
    ).toBe(1);
    expect(
      await harness.metric('switchboard_signal_connections_closed_total', { reason: 'unexpected-message' }),
    ).toBe(1);
  });

  it('keeps other connections serving when one misbehaves', async () => {
    const bad = harness.connect('tcp', remote);
    const good = harness.connect('tcp', { address: '192.0.2.11', port: 1 });
    bad.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(harness.core.openConnections).toBe(1);
    good.send({ $case: 'testNatRequest', value: { serial: 0 } });
    expect((await good.expect('testNatResponse')).port).toBe(1);
  });

  it('counts connections per listener', async () => {
    harness.connect('tcp', remote);
    harness.connect('tcp', remote);
    harness.connect('ws', remote);
    expect(await harness.metric('switchboard_signal_connections_accepted_total', { listener: 'tcp' })).toBe(
      2,
    );
    expect(await harness.metric('switchboard_signal_connections_open', { listener: 'tcp' })).toBe(2);
    expect(await harness.metric('switchboard_signal_connections_open', { listener: 'ws' })).toBe(1);
  });

  it('closeAll drops every connection and refuses later ones', async () => {
    const pairs = [streamPair(), streamPair()];
    for (const pair of pairs) harness.core.handle(pair.server, 'tcp', remote);
    harness.core.closeAll();
    await Promise.all(pairs.map((pair) => whenClosed(pair.server)));
    const late = streamPair();
    harness.core.handle(late.server, 'ws', remote);
    await whenClosed(late.server);
    expect(harness.core.openConnections).toBe(0);
    expect(await harness.metric('switchboard_signal_connections_closed_total', { reason: 'shutdown' })).toBe(
      3,
    );
    expect(await harness.metric('switchboard_signal_connections_open', { listener: 'tcp' })).toBe(0);
  });

  describe('per-IP limits', () => {
    it('drops connections beyond the concurrent cap of one IP before any work, others unaffected', async () => {
      harness.close();
      harness = new CoreHarness({ limits: { maxConnectionsPerIp: 2 } });
      const first = harness.connect('tcp', remote);
      harness.connect('tcp', remote);
      const third = harness.connect('tcp', remote);
      await third.closed;
      // Not even the signed key was sent: the cap comes before the key exchange.
      await expect(third.nextFrame(10)).rejects.toThrow('closed');
      expect(await harness.metric('switchboard_signal_refusals_total', { reason: 'connection-limit' })).toBe(
        1,
      );
      expect(
        (await harness.connect('tcp', { address: '192.0.2.99', port: 1 }).expect('keyExchange')).keys,
      ).toHaveLength(1);
      first.destroy();
      await first.closed;
      await new Promise((resolve) => setImmediate(resolve));
      expect((await harness.connect('tcp', remote).expect('keyExchange')).keys).toHaveLength(1);
    });

    it('limits new connections per IP per window', async () => {
      const clock = new ManualClock();
      harness.close();
      harness = new CoreHarness({
        key: 'none',
        clock,
        limits: { newConnectionsPerIp: 3, perIpWindowMs: 1_000 },
      });
      const clients = [1, 2, 3, 4].map(() => harness.connect('nat-test', remote));
      for (const client of clients) client.destroy();
      await Promise.all(clients.map((client) => client.closed));
      expect(await harness.metric('switchboard_signal_connections_accepted_total')).toBe(3);
      clock.advance(1_000);
      const later = harness.connect('nat-test', remote);
      later.send({ $case: 'testNatRequest', value: { serial: 0 } });
      expect((await later.expect('testNatResponse')).port).toBe(remote.port);
    });

    it('counts an IPv6 client by its /64 for the connection cap and the frame budget', async () => {
      harness.close();
      harness = new CoreHarness({ key: 'none', limits: { maxConnectionsPerIp: 2, framesPerIp: 5 } });
      const network = (host: number) => ({ address: `2001:db8:1:2::${host}`, port: 1 });
      const first = harness.connect('tcp', network(1));
      const second = harness.connect('tcp', network(2));
      // A fresh address from the same /64 is the same client.
      const third = harness.connect('tcp', network(3));
      await third.closed;
      expect(await harness.metric('switchboard_signal_refusals_total', { reason: 'connection-limit' })).toBe(
        1,
      );
      const elsewhere = harness.connect('nat-test', { address: '2001:db8:1:3::1', port: 1 });
      elsewhere.send({ $case: 'testNatRequest', value: { serial: 0 } });
      expect((await elsewhere.expect('testNatResponse')).port).toBe(1);
      // The two connections of the /64 share one frame budget.
      for (let i = 0; i < 3; i++) first.sendHeartbeat();
      for (let i = 0; i < 3; i++) second.sendHeartbeat();
      await second.closed;
      expect(await harness.metric('switchboard_signal_refusals_total', { reason: 'frame-rate' })).toBe(1);
    });

    it('drops connections beyond the global cap, whatever their addresses, and frees the slot on close', async () => {
      harness.close();
      harness = new CoreHarness({ key: 'none', limits: { maxConnections: 3 } });
      const clients = [1, 2, 3].map((n) => harness.connect('tcp', { address: `198.51.100.${n}`, port: 1 }));
      const fourth = harness.connect('ws', { address: '198.51.100.4', port: 1 });
      await fourth.closed;
      expect(await harness.metric('switchboard_signal_refusals_total', { reason: 'connection-cap' })).toBe(1);
      expect(harness.core.openConnections).toBe(3);
      clients[0]?.destroy();
      await clients[0]?.closed;
      await new Promise((resolve) => setImmediate(resolve));
      const later = harness.connect('nat-test', { address: '198.51.100.5', port: 7 });
      later.send({ $case: 'testNatRequest', value: { serial: 0 } });
      expect((await later.expect('testNatResponse')).port).toBe(7);
    });

    it('closes a connection once its IP has sent its budget of frames', async () => {
      harness.close();
      harness = new CoreHarness({ key: 'none', limits: { framesPerIp: 5 } });
      const client = harness.connect('tcp', remote);
      for (let i = 0; i < 6; i++) client.sendHeartbeat();
      await client.closed;
      expect(
        await harness.metric('switchboard_signal_connections_closed_total', { reason: 'rate-limited' }),
      ).toBe(1);
      expect(await harness.metric('switchboard_signal_refusals_total', { reason: 'frame-rate' })).toBe(1);
    });
  });
});
