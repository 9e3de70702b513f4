import { verifySignedIdPk } from '@switchboard/crypto';
import {
  decodeAddrMangle,
  encodeAddrMangle,
  NatType,
  type PunchHoleRequest,
  PunchHoleResponse_Failure,
} from '@switchboard/protocol';

import { CoreHarness, ManualClock, peerIdentity, RELAY } from '../test/core-harness';

function punchRequest(
  harness: CoreHarness,
  id: string,
  overrides: Partial<PunchHoleRequest> = {},
): PunchHoleRequest {
  return {
    id,
    natType: NatType.ASYMMETRIC,
    licenceKey: harness.licence,
    connType: 0,
    token: '',
    version: '1.4.0',
    udpPort: 0,
    forceRelay: false,
    upnpPort: 0,
    socketAddrV6: Buffer.alloc(0),
    switchCode: '',
    ...overrides,
  };
}

const B = { id: '123456789', ip: '198.51.100.50', port: 21200 };
const A = { address: '203.0.113.60', port: 51000 };

describe('PunchHoleRequest → PunchHole → PunchHoleSent / LocalAddr (docs/protocol.md §5.6)', () => {
  let clock: ManualClock;
  let harness: CoreHarness;
  beforeEach(() => {
    clock = new ManualClock();
    harness = new CoreHarness({ clock });
    const { uuid, pk } = peerIdentity(5);
    harness.udp(
      { $case: 'registerPk', value: { id: B.id, uuid, pk, oldId: '', noRegisterDevice: false } },
      B.ip,
      B.port,
    );
  });
  afterEach(() => harness.close());

  async function failureFor(request: PunchHoleRequest): Promise<PunchHoleResponse_Failure> {
    const a = harness.connect('tcp', A);
    a.send({ $case: 'punchHoleRequest', value: request });
    const response = await a.expect('punchHoleResponse');
    expect(response.socketAddr).toHaveLength(0);
    a.destroy();
    return response.failure;
  }

  it('answers LICENSE_MISMATCH to a wrong key, ID_NOT_EXIST to an unknown id, OFFLINE to a silent peer', async () => {
    expect(await failureFor(punchRequest(harness, B.id, { licenceKey: 'wrong' }))).toBe(
      PunchHoleResponse_Failure.LICENSE_MISMATCH,
    );
    expect(await failureFor(punchRequest(harness, '999999999'))).toBe(PunchHoleResponse_Failure.ID_NOT_EXIST);
    // Known to Postgres but not heard from since this process started: offline, as hbbs's DB look-up says.
    harness.access.known.add('999999999');
    expect(await failureFor(punchRequest(harness, '999999999'))).toBe(PunchHoleResponse_Failure.OFFLINE);
    clock.advance(30_000);
    expect(await failureFor(punchRequest(harness, B.id))).toBe(PunchHoleResponse_Failure.OFFLINE);
    expect(await harness.metric('switchboard_signal_punch_hole_total', { outcome: 'offline' })).toBe(2);
    expect(harness.datagrams.filter((d) => d.address === B.ip && d.message?.$case === 'punchHole')).toEqual(
      [],
    );
  });

  it('makes banned or pending targets look offline and unknown ones (locked policy) not exist', async () => {
    harness.access.reachability.set(B.id, 'pending');
    expect(await failureFor(punchRequest(harness, B.id))).toBe(PunchHoleResponse_Failure.OFFLINE);
    harness.access.reachability.set('555555555', 'unknown-device');
    expect(await failureFor(punchRequest(harness, '555555555'))).toBe(PunchHoleResponse_Failure.ID_NOT_EXIST);
    expect(await harness.metric('switchboard_signal_refusals_total', { reason: 'pending' })).toBe(1);
  });

  it('asks B to punch and hands A B’s address and server-signed key when B reports PunchHoleSent', async () => {
    const a = harness.connect('tcp', A);
    const offer = await a.expect('keyExchange');
    expect(offer.keys[0]).toHaveLength(96);
    a.send({ $case: 'punchHoleRequest', value: punchRequest(harness, B.id) });
    await new Promise((resolve) => setImmediate(resolve));

    const toB = harness.datagrams.find((d) => d.port === B.port && d.message?.$case === 'punchHole');
    if (toB?.message?.$case !== 'punchHole') throw new Error('B got no PunchHole');
    expect(toB.address).toBe(B.ip);
    expect(toB.message.value.relayServer).toBe(RELAY);
    expect(toB.message.value.natType).toBe(NatType.ASYMMETRIC);
    expect(decodeAddrMangle(toB.message.value.socketAddr)).toEqual({ family: 'IPv4', ...A });

    // B answers on a fresh connection of its own, from the port it punched with.
    const b = harness.connect('tcp', { address: B.ip, port: 33333 });
    b.send({
      $case: 'punchHoleSent',
      value: {
        socketAddr: toB.message.value.socketAddr,
        id: B.id,
        relayServer: RELAY,
        natType: NatType.ASYMMETRIC,
        version: '1.4.0',
        upnpPort: 0,
        socketAddrV6: Buffer.alloc(0),
      },
    });
    await b.closed;
    const response = await a.expect('punchHoleResponse');
    expect(decodeAddrMangle(response.socketAddr)).toEqual({ family: 'IPv4', address: B.ip, port: 33333 });
    expect(response.union).toEqual({ $case: 'natType', value: NatType.ASYMMETRIC });
    expect(response.relayServer).toBe(RELAY);
    expect(verifySignedIdPk(response.pk, harness.identity!.publicKey)).toEqual({
      id: B.id,
      pk: Buffer.alloc(32, 5),
    });
    expect(await harness.metric('switchboard_signal_punch_hole_total', { outcome: 'answer-forwarded' })).toBe(
      1,
    );
    a.destroy();
  });

  it('asks B for its LAN address when A shares its public IP, and forwards it as is_local', async () => {
    const a = harness.connect('tcp', { address: B.ip, port: 52000 });
    a.send({ $case: 'punchHoleRequest', value: punchRequest(harness, B.id) });
    await new Promise((resolve) => setImmediate(resolve));
    const toB = harness.datagrams.find((d) => d.address === B.ip && d.message?.$case === 'fetchLocalAddr');
    if (toB?.message?.$case !== 'fetchLocalAddr') throw new Error('B got no FetchLocalAddr');
    expect(toB.message.value.relayServer).toBe(RELAY);
    const lan = encodeAddrMangle({ address: '192.168.1.20', port: 21118 }, 0n);
    const b = harness.connect('tcp', { address: B.ip, port: 33334 });
    b.send({
      $case: 'localAddr',
      value: {
        socketAddr: toB.message.value.socketAddr,
        localAddr: lan,
        relayServer: RELAY,
        id: B.id,
        version: '1.4.0',
        socketAddrV6: Buffer.alloc(0),
      },
    });
    const response = await a.expect('punchHoleResponse');
    expect(response.socketAddr).toEqual(lan);
    expect(response.union).toEqual({ $case: 'isLocal', value: true });
    expect(verifySignedIdPk(response.pk, harness.identity!.publicKey)?.id).toBe(B.id);
    a.destroy();
  });

  it('sends PunchHole, not FetchLocalAddr, to a same-IP requester on WebSocket', async () => {
    const a = harness.connect('ws', { address: B.ip, port: 0 });
    a.send({ $case: 'punchHoleRequest', value: punchRequest(harness, B.id) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(harness.datagrams.at(-1)?.message?.$case).toBe('punchHole');
    a.destroy();
  });

  it('leaves the signed key empty when B sent no version or the server has no signing key', async () => {
    const a = harness.connect('tcp', A);
    a.send({ $case: 'punchHoleRequest', value: punchRequest(harness, B.id) });
    await new Promise((resolve) => setImmediate(resolve));
    const toB = harness.datagrams.at(-1)!;
    if (toB.message?.$case !== 'punchHole') throw new Error('no PunchHole');
    const b = harness.connect('tcp', { address: B.ip, port: 1 });
    b.send({
      $case: 'punchHoleSent',
      value: {
        socketAddr: toB.message.value.socketAddr,
        id: B.id,
        relayServer: '',
        natType: 0,
        version: '',
        upnpPort: 0,
        socketAddrV6: Buffer.alloc(0),
      },
    });
    expect((await a.expect('punchHoleResponse')).pk).toHaveLength(0);
    a.destroy();
  });

  it('does not forward an answer that names another peer, nor one for a requester that is gone', async () => {
    const a = harness.connect('tcp', A);
    await a.expect('keyExchange');
    a.send({ $case: 'punchHoleRequest', value: punchRequest(harness, B.id) });
    await new Promise((resolve) => setImmediate(resolve));
    const socketAddr = encodeAddrMangle(A, 5n);
    const impostor = harness.connect('tcp', { address: '192.0.2.99', port: 9 });
    impostor.send({
      $case: 'punchHoleSent',
      value: {
        socketAddr,
        id: '111111111',
        relayServer: '',
        natType: 0,
        version: '1',
        upnpPort: 0,
        socketAddrV6: Buffer.alloc(0),
      },
    });
    await impostor.closed;
    expect(await a.quietFor(50)).toBe(true);
    a.destroy();
    await a.closed;
    const late = harness.connect('tcp', { address: B.ip, port: 2 });
    late.send({
      $case: 'punchHoleSent',
      value: {
        socketAddr,
        id: B.id,
        relayServer: '',
        natType: 0,
        version: '1',
        upnpPort: 0,
        socketAddrV6: Buffer.alloc(0),
      },
    });
    await late.closed;
    expect(await harness.metric('switchboard_signal_punch_hole_total', { outcome: 'answer-unclaimed' })).toBe(
      2,
    );
    expect(await harness.metric('switchboard_signal_punch_map_entries')).toBe(0);
  });

  it('forgets a waiting requester after the punch-map TTL', async () => {
    const a = harness.connect('tcp', A);
    await a.expect('keyExchange');
    a.send({ $case: 'punchHoleRequest', value: punchRequest(harness, B.id) });
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(harness.core.limits.punchMapTtlMs);
    const b = harness.connect('tcp', { address: B.ip, port: 3 });
    b.send({
      $case: 'punchHoleSent',
      value: {
        socketAddr: encodeAddrMangle(A, 1n),
        id: B.id,
        relayServer: '',
        natType: 0,
        version: '1',
        upnpPort: 0,
        socketAddrV6: Buffer.alloc(0),
      },
    });
    await b.closed;
    expect(await a.quietFor(50)).toBe(true);
    a.destroy();
  });
});
