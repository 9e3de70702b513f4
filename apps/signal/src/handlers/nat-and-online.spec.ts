import { RegisterPkResponse_Result } from '@switchboard/protocol';

import { CoreHarness, ManualClock, peerIdentity } from '../test/core-harness';

describe('TestNatRequest and OnlineRequest (docs/protocol.md §5.8)', () => {
  let clock: ManualClock;
  let harness: CoreHarness;
  beforeEach(() => {
    clock = new ManualClock();
    harness = new CoreHarness({ clock, key: 'none' });
  });
  afterEach(() => harness.close());

  function register(id: string, seed: number): void {
    const { uuid, pk } = peerIdentity(seed);
    const [reply] = harness.udp(
      { $case: 'registerPk', value: { id, uuid, pk, oldId: '', noRegisterDevice: false } },
      `198.51.100.${seed}`,
      1000 + seed,
    );
    expect(reply?.message).toMatchObject({ value: { result: RegisterPkResponse_Result.OK } });
  }

  async function online(ids: string[], listener: 'nat-test' | 'ws' = 'nat-test', address = '192.0.2.1') {
    const client = harness.connect(listener, { address, port: 3000 });
    client.send({ $case: 'onlineRequest', value: { id: 'asker', peers: ids } });
    try {
      return (await client.expect('onlineResponse')).states;
    } catch {
      return undefined;
    } finally {
      await client.closed;
    }
  }

  it('answers the TCP source port on both ports, then closes', async () => {
    for (const listener of ['tcp', 'nat-test'] as const) {
      const client = harness.connect(listener, { address: '192.0.2.7', port: 45678 });
      client.send({ $case: 'testNatRequest', value: { serial: 0 } });
      expect(await client.expect('testNatResponse')).toEqual({ port: 45678, cu: undefined });
      await client.closed;
    }
  });

  it('sets bit 7 − i%8 of byte i/8 for each online peer, always the full length', async () => {
    register('peer000001', 1);
    register('peer000003', 3);
    register('peer000008', 8);
    const ids = Array.from({ length: 9 }, (_, i) => `peer${String(i).padStart(6, '0')}`);
    expect(await online(ids.slice(0, 1))).toEqual(Buffer.from([0b0000_0000]));
    expect(await online(ids.slice(1, 2))).toEqual(Buffer.from([0b1000_0000]));
    expect(await online(ids.slice(0, 8))).toEqual(Buffer.from([0b0101_0000]));
    expect(await online(ids)).toEqual(Buffer.from([0b0101_0000, 0b1000_0000]));
    expect(await online([])).toEqual(Buffer.alloc(0));
    clock.advance(30_000);
    expect(await online(ids)).toEqual(Buffer.from([0, 0]));
  });

  it('answers on WebSocket too, but not on TCP 21116', async () => {
    register('peer000001', 1);
    expect(await online(['peer000001'], 'ws')).toEqual(Buffer.from([0x80]));
    const tcp = harness.connect('tcp', { address: '192.0.2.2', port: 1 });
    tcp.send({ $case: 'onlineRequest', value: { id: 'asker', peers: ['peer000001'] } });
    await tcp.closed;
  });

  it('shows pending or banned peers as offline', async () => {
    register('peer000001', 1);
    harness.access.reachability.set('peer000001', 'pending');
    expect(await online(['peer000001'])).toEqual(Buffer.from([0]));
  });

  it('looks up only the first onlineQueryMaxPeers ids but still sends the full length', async () => {
    harness.close();
    harness = new CoreHarness({ clock, key: 'none', limits: { onlineQueryMaxPeers: 4 } });
    for (let i = 0; i < 8; i++) register(`peer${String(i).padStart(6, '0')}`, i + 1);
    const ids = Array.from({ length: 20 }, (_, i) => `peer${String(i % 8).padStart(6, '0')}`);
    expect(await online(ids)).toEqual(Buffer.from([0b1111_0000, 0, 0]));
  });

  it('limits ids per IP per window, so the online set cannot be enumerated', async () => {
    harness.close();
    harness = new CoreHarness({ clock, key: 'none', limits: { onlineQueryIdsPerIp: 20 } });
    const batch = Array.from({ length: 8 }, (_, i) => `peer${i}`);
    expect(await online(batch)).toHaveLength(1);
    expect(await online(batch)).toHaveLength(1);
    expect(await online(batch)).toBeUndefined();
    expect(await online(batch, 'nat-test', '192.0.2.200')).toHaveLength(1);
    clock.advance(60_000);
    expect(await online(batch)).toHaveLength(1);
    expect(
      await harness.metric('switchboard_signal_refusals_total', { reason: 'online-query-limited' }),
    ).toBe(1);
  });

  it('handles only the first message on 21115 and closes on anything else', async () => {
    const client = harness.connect('nat-test', { address: '192.0.2.3', port: 1 });
    client.send({ $case: 'registerPeer', value: { id: '123456789', serial: 0 } });
    await client.closed;
    expect(
      await harness.metric('switchboard_signal_connections_closed_total', {
        listener: 'nat-test',
        reason: 'unexpected-message',
      }),
    ).toBe(1);
  });
});
