import { verifySignedIdPk } from '@switchboard/crypto';
import { decodeAddrMangle, type RelayResponse, type RequestRelay } from '@switchboard/protocol';

import { CoreHarness, ManualClock, peerIdentity, RELAY } from '../test/core-harness';

const B = { id: '123456789', ip: '198.51.100.70', port: 21300 };
const A = { address: '203.0.113.80', port: 52000 };

function requestRelay(overrides: Partial<RequestRelay> = {}): RequestRelay {
  return {
    id: B.id,
    uuid: 'a-chosen-uuid',
    socketAddr: Buffer.alloc(0),
    relayServer: RELAY,
    secure: true,
    licenceKey: 'client key',
    connType: 0,
    token: 'a login token',
    switchCode: '',
    ...overrides,
  };
}

function relayResponse(overrides: Partial<RelayResponse>): RelayResponse {
  return {
    socketAddr: Buffer.alloc(0),
    uuid: '',
    relayServer: RELAY,
    union: undefined,
    refuseReason: '',
    version: '1.4.0',
    feedback: 0,
    socketAddrV6: Buffer.alloc(0),
    upnpPort: 0,
    ...overrides,
  };
}

describe('RequestRelay and RelayResponse (docs/protocol.md §5.6–5.7)', () => {
  let clock: ManualClock;
  let harness: CoreHarness;
  beforeEach(() => {
    clock = new ManualClock();
    harness = new CoreHarness({ clock, key: 'none' });
    const { uuid, pk } = peerIdentity(7);
    harness.udp(
      { $case: 'registerPk', value: { id: B.id, uuid, pk, oldId: '', noRegisterDevice: false } },
      B.ip,
      B.port,
    );
  });
  afterEach(() => harness.close());

  it('refuses with a reason instead of silence when the target is unknown, offline or refused', async () => {
    const reasons: string[] = [];
    for (const id of ['999999999', B.id, '888888888']) {
      if (id === B.id) clock.advance(30_000);
      if (id === '888888888') harness.access.reachability.set(id, 'banned');
      const a = harness.connect('tcp', A);
      a.send({ $case: 'requestRelay', value: requestRelay({ id }) });
      reasons.push((await a.expect('relayResponse')).refuseReason);
      a.destroy();
    }
    expect(reasons).toEqual(['ID does not exist', 'Remote desktop is offline', 'Remote desktop is offline']);
    harness.access.known.add('999999999');
    const a = harness.connect('tcp', A);
    a.send({ $case: 'requestRelay', value: requestRelay({ id: '999999999' }) });
    expect((await a.expect('relayResponse')).refuseReason).toBe('Remote desktop is offline');
    a.destroy();
    expect(harness.tickets.issued).toEqual([]);
    expect(await harness.metric('switchboard_signal_relay_total', { outcome: 'refused-offline' })).toBe(3);
  });

  it('asks B to join with A’s uuid, issues the ticket only when B answers, and forwards the answer to A', async () => {
    const a = harness.connect('tcp', A);
    a.send({ $case: 'requestRelay', value: requestRelay() });
    await new Promise((resolve) => setImmediate(resolve));
    const toB = harness.datagrams.find((d) => d.message?.$case === 'requestRelay');
    if (toB?.message?.$case !== 'requestRelay') throw new Error('B got no RequestRelay');
    expect([toB.address, toB.port]).toEqual([B.ip, B.port]);
    expect(toB.message.value).toMatchObject({
      id: B.id,
      uuid: 'a-chosen-uuid',
      relayServer: RELAY,
      secure: true,
    });
    // A's credentials are not forwarded to B.
    expect(toB.message.value.token).toBe('');
    expect(toB.message.value.licenceKey).toBe('');
    expect(decodeAddrMangle(toB.message.value.socketAddr)).toEqual({ family: 'IPv4', ...A });
    // A chose the uuid; until B answers it is no brokered session (issue 10 item 6).
    expect(harness.tickets.issued).toEqual([]);

    // B joins the relay and says so, without uuid or id (the client's create_relay with initiate=false).
    const b = harness.connect('tcp', { address: B.ip, port: 40000 });
    b.send({ $case: 'relayResponse', value: relayResponse({ socketAddr: toB.message.value.socketAddr }) });
    const forwarded = await a.expect('relayResponse');
    expect(forwarded.refuseReason).toBe('');
    expect(forwarded.socketAddr).toHaveLength(0);
    expect(forwarded.union).toBeUndefined();
    expect(harness.tickets.issued).toEqual([
      { uuid: 'a-chosen-uuid', peers: [B.id], relay: RELAY, requesterIp: A.address, answererIp: B.ip },
    ]);
    a.destroy();
  });

  it('on the punch path, brokers B’s uuid: ticket issued and A gets B’s signed key', async () => {
    harness.close();
    harness = new CoreHarness({ clock });
    const { uuid, pk } = peerIdentity(7);
    harness.udp(
      { $case: 'registerPk', value: { id: B.id, uuid, pk, oldId: '', noRegisterDevice: false } },
      B.ip,
      B.port,
    );
    const a = harness.connect('tcp', A);
    await a.expect('keyExchange');
    a.send({
      $case: 'punchHoleRequest',
      value: {
        id: B.id,
        natType: 2,
        licenceKey: harness.licence,
        connType: 0,
        token: '',
        version: '1.4.0',
        udpPort: 0,
        forceRelay: true,
        upnpPort: 0,
        socketAddrV6: Buffer.alloc(0),
        switchCode: '',
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    const toB = harness.datagrams.find((d) => d.message?.$case === 'punchHole');
    if (toB?.message?.$case !== 'punchHole') throw new Error('B got no PunchHole');
    expect(toB.message.value.natType).toBe(2);

    const b = harness.connect('tcp', { address: B.ip, port: 40001 });
    b.send({
      $case: 'relayResponse',
      value: relayResponse({
        socketAddr: toB.message.value.socketAddr,
        uuid: 'b-chosen-uuid',
        union: { $case: 'id', value: B.id },
      }),
    });
    const forwarded = await a.expect('relayResponse');
    expect(forwarded.uuid).toBe('b-chosen-uuid');
    expect(forwarded.relayServer).toBe(RELAY);
    expect(forwarded.socketAddr).toHaveLength(0);
    if (forwarded.union?.$case !== 'pk') throw new Error('no signed pk');
    expect(verifySignedIdPk(forwarded.union.value, harness.identity!.publicKey)).toEqual({ id: B.id, pk });
    expect(harness.tickets.issued).toEqual([
      { uuid: 'b-chosen-uuid', peers: [B.id], relay: RELAY, requesterIp: A.address, answererIp: B.ip },
    ]);
    a.destroy();
  });

  it('drops a pk that B tried to supply itself', async () => {
    const a = harness.connect('tcp', A);
    a.send({ $case: 'requestRelay', value: requestRelay() });
    await new Promise((resolve) => setImmediate(resolve));
    const toB = harness.datagrams.find((d) => d.message?.$case === 'requestRelay');
    if (toB?.message?.$case !== 'requestRelay') throw new Error('B got no RequestRelay');
    const b = harness.connect('tcp', { address: B.ip, port: 40002 });
    b.send({
      $case: 'relayResponse',
      value: relayResponse({
        socketAddr: toB.message.value.socketAddr,
        union: { $case: 'pk', value: Buffer.alloc(109, 1) },
      }),
    });
    expect((await a.expect('relayResponse')).union).toBeUndefined();
    a.destroy();
  });

  /** A's RequestRelay reaching B: the socket_addr B would echo back. */
  async function requestFromA(a: ReturnType<CoreHarness['connect']>, overrides: Partial<RequestRelay> = {}) {
    a.send({ $case: 'requestRelay', value: requestRelay(overrides) });
    await new Promise((resolve) => setImmediate(resolve));
    const toB = harness.datagrams.filter((d) => d.message?.$case === 'requestRelay').at(-1);
    if (toB?.message?.$case !== 'requestRelay') throw new Error('B got no RequestRelay');
    return toB.message.value.socketAddr;
  }

  it('an answer for B from another network than B’s is not B’s: no ticket, A keeps waiting for B', async () => {
    // Issue 10 item 6: an unauthenticated client names an online id and a uuid of its choice, then
    // answers its own request, hoping for a ticket that lets two of its connections pair.
    const a = harness.connect('tcp', A);
    const socketAddr = await requestFromA(a, { uuid: 'attacker-uuid' });
    const self = harness.connect('tcp', { address: A.address, port: 52001 });
    self.send({ $case: 'relayResponse', value: relayResponse({ socketAddr }) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(harness.tickets.issued).toEqual([]);
    expect(
      await harness.metric('switchboard_signal_relay_total', { outcome: 'response-wrong-network' }),
    ).toBe(1);

    const b = harness.connect('tcp', { address: B.ip, port: 40003 });
    b.send({ $case: 'relayResponse', value: relayResponse({ socketAddr }) });
    expect((await a.expect('relayResponse')).refuseReason).toBe('');
    expect(harness.tickets.issued).toEqual([
      { uuid: 'attacker-uuid', peers: [B.id], relay: RELAY, requesterIp: A.address, answererIp: B.ip },
    ]);
    a.destroy();
  });

  it('with the answer check off (RELAY_TICKET_IP_CHECK=false), takes an answer from anywhere', async () => {
    harness.close();
    harness = new CoreHarness({ clock, key: 'none', limits: { relayAnswerFromPeerNetwork: false } });
    const { uuid, pk } = peerIdentity(7);
    harness.udp(
      { $case: 'registerPk', value: { id: B.id, uuid, pk, oldId: '', noRegisterDevice: false } },
      B.ip,
      B.port,
    );
    const a = harness.connect('tcp', A);
    const socketAddr = await requestFromA(a);
    const elsewhere = harness.connect('tcp', { address: '192.0.2.44', port: 40004 });
    elsewhere.send({ $case: 'relayResponse', value: relayResponse({ socketAddr }) });
    expect((await a.expect('relayResponse')).refuseReason).toBe('');
    expect(harness.tickets.issued).toMatchObject([{ requesterIp: A.address, answererIp: '192.0.2.44' }]);
    a.destroy();
  });

  it('rate-limits tickets per requester network and per target id, refusing A with a reason', async () => {
    harness.close();
    harness = new CoreHarness({
      clock,
      key: 'none',
      limits: { relayTicketsPerIp: 2, relayTicketsPerPeer: 3 },
    });
    const register = (id: string, seed: number, ip: string) => {
      const { uuid, pk } = peerIdentity(seed);
      harness.udp(
        { $case: 'registerPk', value: { id, uuid, pk, oldId: '', noRegisterDevice: false } },
        ip,
        21300,
      );
    };
    register(B.id, 7, B.ip);
    const brokered = async (from: { address: string; port: number }) => {
      const a = harness.connect('tcp', from);
      const socketAddr = await requestFromA(a, { uuid: `uuid-${from.address}-${from.port}` });
      const b = harness.connect('tcp', { address: B.ip, port: 40100 + (from.port % 100) });
      b.send({ $case: 'relayResponse', value: relayResponse({ socketAddr }) });
      const answer = await a.expect('relayResponse');
      a.destroy();
      return answer.refuseReason;
    };
    // Per requester network: an IPv6 client counts once per /64, whichever address it uses.
    expect(await brokered({ address: '2001:db8:1:2::a', port: 1 })).toBe('');
    expect(await brokered({ address: '2001:db8:1:2::b', port: 2 })).toBe('');
    expect(await brokered({ address: '2001:db8:1:2::c', port: 3 })).toMatch(/Too many relay requests/);
    // Per target id: B's budget of three is spent by the third requester.
    expect(await brokered({ address: '203.0.113.1', port: 4 })).toBe('');
    expect(await brokered({ address: '203.0.113.2', port: 5 })).toMatch(/Too many relay requests/);
    expect(harness.tickets.issued).toHaveLength(3);
    expect(await harness.metric('switchboard_signal_relay_total', { outcome: 'ticket-rate-limited' })).toBe(
      2,
    );

    clock.advance(60_000);
    harness.udp({ $case: 'registerPeer', value: { id: B.id, serial: 0 } }, B.ip, 21300); // B's heartbeat
    expect(await brokered({ address: '203.0.113.2', port: 6 })).toBe('');
  });
});
