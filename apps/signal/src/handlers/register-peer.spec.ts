import { encodeRendezvous, RegisterPkResponse_Result } from '@switchboard/protocol';

import { CoreHarness, ManualClock, peerIdentity } from '../test/core-harness';
import { readRegisterPeerId, REGISTER_PEER_RESPONSE } from './register-peer';

const registerPeer = (id: string, serial = 0) =>
  encodeRendezvous({ $case: 'registerPeer', value: { id, serial } });

describe('readRegisterPeerId (the UDP fast path)', () => {
  it('reads the spec example and ids with a serial', () => {
    expect(readRegisterPeerId(Buffer.from('320b0a09313233343536373839', 'hex'))).toBe('123456789');
    expect(readRegisterPeerId(registerPeer('abcdef', 7))).toBe('abcdef');
    expect(readRegisterPeerId(registerPeer('abcdef', -1))).toBe('abcdef');
    expect(readRegisterPeerId(registerPeer(''))).toBe('');
  });

  it('leaves every other shape to the generic decoder', () => {
    const withTrailingField = Buffer.concat([registerPeer('123456789'), Buffer.from([0x08, 0x01])]);
    const cases = [
      Buffer.alloc(0),
      Buffer.from([0x32]),
      Buffer.from('320c0a0931323334353637383900', 'hex'), // length says one byte more than the id field
      Buffer.from('320b0a0a313233343536373839', 'hex'), // id longer than the message
      withTrailingField,
      encodeRendezvous({ $case: 'testNatRequest', value: { serial: 0 } }),
      Buffer.from('32030a01', 'hex'),
    ];
    for (const bytes of cases) expect(readRegisterPeerId(bytes)).toBeUndefined();
  });
});

describe('UDP RegisterPeer (docs/protocol.md §5.2)', () => {
  let clock: ManualClock;
  let harness: CoreHarness;
  beforeEach(() => {
    clock = new ManualClock();
    harness = new CoreHarness({ clock });
  });
  afterEach(() => harness.close());

  function registerKey(id: string, seed: number, ip: string, port: number): void {
    const { uuid, pk } = peerIdentity(seed);
    const [reply] = harness.udp(
      { $case: 'registerPk', value: { id, uuid, pk, oldId: '', noRegisterDevice: false } },
      ip,
      port,
    );
    expect(reply?.message).toEqual({
      $case: 'registerPkResponse',
      value: { result: RegisterPkResponse_Result.OK, keepAlive: 0 },
    });
  }

  it('counts heartbeats and key registrations, the fast path included, in whichever order they are scraped', async () => {
    registerKey('123456789', 1, '198.51.100.7', 40000);
    for (let beat = 0; beat < 3; beat++) harness.udp(registerPeer('123456789'), '198.51.100.7', 40000);

    expect(
      await harness.metric('switchboard_signal_registrations_total', { transport: 'udp', kind: 'peer' }),
    ).toBe(3);
    expect(await harness.metric('switchboard_signal_messages_total', { type: 'registerPeer' })).toBe(3);
    harness.udp(registerPeer('123456789'), '198.51.100.7', 40000);
    expect(await harness.metric('switchboard_signal_messages_total', { type: 'registerPeer' })).toBe(4);
    expect(await harness.metric('switchboard_signal_registrations_total', { kind: 'peer' })).toBe(4);
    expect(
      await harness.metric('switchboard_signal_registrations_total', { transport: 'udp', kind: 'key' }),
    ).toBe(1);
  });

  it('asks an unknown id for its key without remembering it', () => {
    const replies = harness.udp(registerPeer('123456789'), '198.51.100.7', 40000);
    expect(replies.map((reply) => reply.bytes)).toEqual([REGISTER_PEER_RESPONSE.requestPk]);
    expect(harness.core.peers.size).toBe(0);
  });

  it('refreshes a known peer from the same IP and answers request_pk=false', () => {
    registerKey('123456789', 1, '198.51.100.7', 40000);
    clock.advance(29_000);
    const [reply] = harness.udp(registerPeer('123456789'), '198.51.100.7', 40001);
    expect(reply?.message).toEqual({ $case: 'registerPeerResponse', value: { requestPk: false } });
    const peer = harness.core.peers.get('123456789');
    expect(peer?.port).toBe(40001);
    clock.advance(29_000);
    expect(harness.core.peers.isOnline(peer!, clock.now())).toBe(true);
    clock.advance(1_001);
    expect(harness.core.peers.isOnline(peer!, clock.now())).toBe(false);
  });

  it('asks for the key again when the IP changed, without moving the record', () => {
    registerKey('123456789', 1, '198.51.100.7', 40000);
    const [reply] = harness.udp(registerPeer('123456789'), '203.0.113.5', 40000);
    expect(reply?.bytes).toEqual(REGISTER_PEER_RESPONSE.requestPk);
    expect(harness.core.peers.get('123456789')?.address).toBe('198.51.100.7');
  });

  it('does not call a move to loopback an IP change', () => {
    registerKey('123456789', 1, '198.51.100.7', 40000);
    const [reply] = harness.udp(registerPeer('123456789'), '127.0.0.1', 40000);
    expect(reply?.bytes).toEqual(REGISTER_PEER_RESPONSE.ok);
    // The record follows the peer to its new address and port (punches go there).
    expect(harness.core.peers.get('123456789')).toMatchObject({ address: '127.0.0.1', port: 40000 });
    harness.udp(registerPeer('123456789'), '127.0.0.2', 40002);
    expect(harness.core.peers.get('123456789')).toMatchObject({ address: '127.0.0.2', port: 40002 });
  });

  it('answers the generic encoding the same way as the fast path', () => {
    registerKey('123456789', 1, '198.51.100.7', 40000);
    // The same id plus an unknown field 3: valid protobuf, not the fast path's shape.
    const reordered = Buffer.from('320d0a093132333435363738391805', 'hex');
    expect(readRegisterPeerId(reordered)).toBeUndefined();
    const [reply] = harness.udp(reordered, '198.51.100.7', 40000);
    expect(reply?.bytes).toEqual(REGISTER_PEER_RESPONSE.ok);
  });

  it('drops refused devices and empty ids silently', async () => {
    registerKey('123456789', 1, '198.51.100.7', 40000);
    harness.access.registration.set('123456789', 'banned');
    expect(harness.udp(registerPeer('123456789'), '198.51.100.7', 40000)).toEqual([]);
    expect(harness.udp(registerPeer(''), '198.51.100.7', 40000)).toEqual([]);
    expect(await harness.metric('switchboard_signal_refusals_total', { reason: 'banned' })).toBe(1);
  });

  it('coalesces heartbeats into one recordSeen per interval', () => {
    registerKey('123456789', 1, '198.51.100.7', 40000);
    for (let i = 0; i < 10; i++) {
      clock.advance(15_000);
      harness.udp(registerPeer('123456789'), '198.51.100.7', 40000);
    }
    // 150 s of heartbeats, the registration itself counting as seen: one record per 60 s.
    expect(harness.writer.seen).toHaveLength(2);
  });

  it('never answers with more bytes than the datagram, and ignores garbage', async () => {
    expect(harness.udp(Buffer.from('not protobuf at all'), '198.51.100.7', 1)).toEqual([]);
    expect(harness.udp(Buffer.from([0xff, 0xff, 0xff]), '198.51.100.7', 1)).toEqual([]);
    const replies = harness.udp(registerPeer('1'), '198.51.100.7', 1);
    expect(replies[0]!.bytes.length).toBeLessThanOrEqual(registerPeer('1').length);
    expect(await harness.metric('switchboard_signal_frame_errors_total', { transport: 'udp' })).toBe(2);
    expect(await harness.metric('switchboard_signal_datagrams_received_total')).toBe(3);
  });

  it('ignores punch, local-address and NAT-test messages over UDP', () => {
    registerKey('123456789', 1, '198.51.100.7', 40000);
    const before = harness.datagrams.length;
    harness.udp({ $case: 'testNatRequest', value: { serial: 0 } }, '198.51.100.8', 5);
    harness.udp(
      {
        $case: 'punchHoleRequest',
        value: {
          id: '123456789',
          natType: 0,
          licenceKey: harness.licence,
          connType: 0,
          token: '',
          version: '1',
          udpPort: 0,
          forceRelay: false,
          upnpPort: 0,
          socketAddrV6: Buffer.alloc(0),
          switchCode: '',
        },
      },
      '198.51.100.8',
      5,
    );
    harness.udp(
      {
        $case: 'localAddr',
        value: {
          socketAddr: Buffer.alloc(10, 1),
          localAddr: Buffer.alloc(10, 2),
          relayServer: '',
          id: '123456789',
          version: '1',
          socketAddrV6: Buffer.alloc(0),
        },
      },
      '198.51.100.8',
      5,
    );
    expect(harness.datagrams.length).toBe(before);
  });
});
