import { encodeRendezvous, type RegisterPk, RegisterPkResponse_Result } from '@switchboard/protocol';

import { CoreHarness, ManualClock, peerIdentity, RELAY } from '../test/core-harness';

const { OK, UUID_MISMATCH, TOO_FREQUENT, NOT_DEPLOYED } = RegisterPkResponse_Result;

function registerPk(id: string, seed: number, overrides: Partial<RegisterPk> = {}): RegisterPk {
  return { id, ...peerIdentity(seed), oldId: '', noRegisterDevice: false, ...overrides };
}

describe('UDP RegisterPk (docs/protocol.md §5.3)', () => {
  let clock: ManualClock;
  let harness: CoreHarness;
  const ip = '198.51.100.20';
  beforeEach(() => {
    clock = new ManualClock();
    harness = new CoreHarness({ clock });
  });
  afterEach(() => harness.close());

  function send(message: RegisterPk, from = ip, port = 50000): RegisterPkResponse_Result | undefined {
    const replies = harness.udp({ $case: 'registerPk', value: message }, from, port);
    const reply = replies[0]?.message;
    if (reply === undefined) return undefined;
    if (reply.$case !== 'registerPkResponse') throw new Error(`unexpected ${reply.$case}`);
    expect(reply.value.keepAlive).toBe(0);
    return reply.value.result;
  }

  /** Like send, for a RegisterPk that waits for a stored identity first. */
  async function sendAndSettle(message: RegisterPk, from = ip, port = 50000) {
    const before = harness.datagrams.length;
    harness.core.handleDatagram(encodeRendezvous({ $case: 'registerPk', value: message }), from, port);
    await new Promise((resolve) => setImmediate(resolve));
    const reply = harness.datagrams.slice(before).find((sent) => sent.address === from)?.message;
    return reply?.$case === 'registerPkResponse' ? reply.value.result : undefined;
  }

  it('registers a new peer, records it, and leaves it online', () => {
    expect(send(registerPk('123456789', 1))).toBe(OK);
    const peer = harness.core.peers.get('123456789');
    expect(peer?.pkBytes).toEqual(Buffer.alloc(32, 1));
    expect(harness.core.peers.isOnline(peer!, clock.now())).toBe(true);
    expect(harness.writer.registrations).toEqual([
      { id: '123456789', uuid: peerIdentity(1).uuid, pk: Buffer.alloc(32, 1), ip, at: new Date(clock.now()) },
    ]);
  });

  it('ignores a message without uuid or pk, or with oversized ones, and stores ids it could never save', () => {
    expect(send(registerPk('123456789', 1, { uuid: Buffer.alloc(0) }))).toBeUndefined();
    expect(send(registerPk('123456789', 1, { pk: Buffer.alloc(0) }))).toBeUndefined();
    expect(send(registerPk('123456789', 1, { pk: Buffer.alloc(65) }))).toBeUndefined();
    expect(send(registerPk('123456789', 1, { uuid: Buffer.alloc(129) }))).toBeUndefined();
    expect(send(registerPk('1234567 89', 1))).toBeUndefined();
    expect(send(registerPk('x'.repeat(33), 1))).toBeUndefined();
    expect(harness.core.peers.size).toBe(0);
  });

  it('answers UUID_MISMATCH to an id shorter than 6, as upstream', () => {
    expect(send(registerPk('12345', 1))).toBe(UUID_MISMATCH);
  });

  it('answers UUID_MISMATCH only to a real conflict', () => {
    expect(send(registerPk('123456789', 1))).toBe(OK);
    // Another machine claims the id.
    expect(send(registerPk('123456789', 1, { uuid: Buffer.from('other machine') }), '203.0.113.1')).toBe(
      UUID_MISMATCH,
    );
    clock.advance(7_000);
    // Same machine from a new IP with its key: fine. A new key from the same IP: fine.
    expect(send(registerPk('123456789', 1), '203.0.113.2')).toBe(OK);
    expect(send(registerPk('123456789', 1, { pk: Buffer.alloc(32, 9) }), '203.0.113.2')).toBe(OK);
    // New IP and new key at once: a conflict.
    clock.advance(7_000);
    expect(send(registerPk('123456789', 1, { pk: Buffer.alloc(32, 3) }), '203.0.113.3')).toBe(UUID_MISMATCH);
    expect(harness.writer.registrations.map((r) => r.ip)).toEqual([ip, '203.0.113.2', '203.0.113.2']);
  });

  it('answers UUID_MISMATCH to an id stored for another machine, even when it is not in memory', async () => {
    // After a restart the peer map is empty; the stored uuid still decides, as in hbbs.
    harness.access.stored.set('123456789', { uuid: peerIdentity(1).uuid, pk: Buffer.alloc(32, 1), ip });
    expect(send(registerPk('123456789', 1, { uuid: Buffer.from('other machine') }))).toBe(UUID_MISMATCH);
    expect(harness.core.peers.size).toBe(0);
    expect(await sendAndSettle(registerPk('123456789', 1))).toBe(OK);
  });

  describe('after a restart (the peer map empty, the device stored)', () => {
    const stored = { uuid: peerIdentity(1).uuid, pk: Buffer.alloc(32, 1), ip };
    beforeEach(() => harness.access.stored.set('123456789', stored));

    it('applies the in-memory rule to the stored uuid, key and IP', async () => {
      // Same uuid, new key, new IP: refused as hbbs refuses it, and nothing is recorded or signed.
      const thief = registerPk('123456789', 1, { pk: Buffer.alloc(32, 6) });
      expect(await sendAndSettle(thief, '203.0.113.66')).toBe(UUID_MISMATCH);
      expect(harness.writer.registrations).toEqual([]);
      expect(harness.core.peers.get('123456789')?.pkBytes).toEqual(stored.pk);
      // The real device, from anywhere: OK with its id and its key.
      clock.advance(7_000);
      expect(await sendAndSettle(registerPk('123456789', 1), '198.51.100.99')).toBe(OK);
      expect(harness.core.peers.get('123456789')?.pkBytes).toEqual(stored.pk);
      // A new key from the stored IP is a key change hbbs allows under open.
      harness.access.stored.set('555555555', { ...stored, ip: '203.0.113.5' });
      const rekeyed = registerPk('555555555', 1, { pk: Buffer.alloc(32, 5) });
      expect(await sendAndSettle(rekeyed, '203.0.113.5')).toBe(OK);
    });

    it('takes the first key of a stored device that never had one (pending, or admitted by token)', async () => {
      harness.access.stored.set('777777777', { uuid: peerIdentity(7).uuid, pk: null, ip: null });
      expect(await sendAndSettle(registerPk('777777777', 7), '203.0.113.7')).toBe(OK);
      expect(harness.writer.registrations.map((r) => r.id)).toEqual(['777777777']);
    });

    it('refuses for now, and registers nothing, while the stored identity cannot be read', async () => {
      harness.access.storedUnreadable = new Error('Postgres is down');
      expect(await sendAndSettle(registerPk('123456789', 1))).toBe(TOO_FREQUENT);
      expect(await sendAndSettle(registerPk('999999999', 9))).toBe(TOO_FREQUENT);
      expect(harness.core.peers.size).toBe(0);
      expect(
        await harness.metric('switchboard_signal_refusals_total', { reason: 'identity-unavailable' }),
      ).toBe(2);
      harness.access.storedUnreadable = undefined;
      expect(await sendAndSettle(registerPk('123456789', 1))).toBe(OK);
    });
  });

  it('under token, approval and locked refuses a new key of an admitted device with NOT_DEPLOYED, audited', async () => {
    expect(send(registerPk('123456789', 1))).toBe(OK);
    harness.access.keyChangeAllowed = false;
    clock.advance(7_000);
    // Even from the same IP (hbbs would take it): the key is what was admitted.
    expect(send(registerPk('123456789', 1, { pk: Buffer.alloc(32, 8) }))).toBe(NOT_DEPLOYED);
    expect(harness.core.peers.get('123456789')?.pkBytes).toEqual(Buffer.alloc(32, 1));
    expect(harness.writer.registrations).toHaveLength(1);
    expect(await harness.metric('switchboard_signal_refusals_total', { reason: 'key-changed' })).toBe(1);
    expect(harness.audit.facts).toContainEqual(
      expect.objectContaining({ action: 'device.registration_refused', reason: 'key-changed' }),
    );
    expect(send(registerPk('123456789', 1))).toBe(OK);
  });

  it('lets new devices in over UDP at a global rate, whatever their (forgeable) sources', async () => {
    harness.close();
    harness = new CoreHarness({ clock, limits: { udpNewDevices: 5, udpNewDevicesWindowMs: 60_000 } });
    const results = Array.from({ length: 8 }, (_, n) =>
      send(registerPk(`new${String(n).padStart(6, '0')}`, n), `203.0.113.${n + 1}`),
    );
    expect(results).toEqual([OK, OK, OK, OK, OK, TOO_FREQUENT, TOO_FREQUENT, TOO_FREQUENT]);
    expect(harness.core.peers.size).toBe(5);
    expect(harness.writer.registrations).toHaveLength(5);
    expect(await harness.metric('switchboard_signal_refusals_total', { reason: 'new-device-rate' })).toBe(3);
    // Known devices are not counted; the window passes.
    clock.advance(7_000);
    expect(send(registerPk('new000000', 0), '203.0.113.1')).toBe(OK);
    clock.advance(60_000);
    expect(send(registerPk('new000007', 7), '203.0.113.8')).toBe(OK);
  });

  it('holds at most maxPeers records however many forged sources register', () => {
    harness.close();
    harness = new CoreHarness({ clock, limits: { maxPeers: 100, udpNewDevices: 1_000_000 } });
    for (let n = 0; n < 1_000; n++) {
      send(registerPk(`flood${String(n).padStart(6, '0')}`, n % 250), `10.${n >> 8}.${n & 255}.1`);
      clock.advance(1_000);
    }
    expect(harness.core.peers.size).toBeLessThanOrEqual(100);
  });

  it('answers NOT_DEPLOYED, never UUID_MISMATCH, to a refused device, even one in conflict', async () => {
    expect(send(registerPk('123456789', 1))).toBe(OK);
    harness.access.registration.set('123456789', 'banned');
    expect(send(registerPk('123456789', 1, { uuid: Buffer.from('other') }))).toBe(NOT_DEPLOYED);
    harness.access.registration.set('987654321', 'not-deployed');
    expect(send(registerPk('987654321', 2))).toBe(NOT_DEPLOYED);
    expect(harness.core.peers.has('987654321')).toBe(false);
    expect(await harness.metric('switchboard_signal_refusals_total', { reason: 'not-deployed' })).toBe(1);
  });

  it('allows 3 per id per 6 s, then TOO_FREQUENT', () => {
    const results = [1, 2, 3, 4].map(() => send(registerPk('123456789', 1)));
    expect(results).toEqual([OK, OK, OK, TOO_FREQUENT]);
    clock.advance(6_001);
    expect(send(registerPk('123456789', 1))).toBe(OK);
  });

  it('applies hbbs per-IP limits: 30 requests per minute of quiet, 300 ids', () => {
    const results: (RegisterPkResponse_Result | undefined)[] = [];
    for (let i = 0; i < 40; i++) results.push(send(registerPk(`peer${String(i).padStart(4, '0')}`, i)));
    expect(results.filter((r) => r === OK)).toHaveLength(32);
    expect(results.at(-1)).toBe(TOO_FREQUENT);
    clock.advance(60_001);
    expect(send(registerPk('peer9999', 99))).toBe(OK);
    expect(send(registerPk('peer9999', 99), '198.51.100.21')).toBe(OK);
  });
});

describe('TCP/WS registration with keep-alive (docs/protocol.md §5.11a)', () => {
  let harness: CoreHarness;
  afterEach(() => harness.close());

  it('answers OK with keep_alive, keeps the link, and keeps the peer online while it lives', async () => {
    const clock = new ManualClock();
    harness = new CoreHarness({ clock, key: 'none' });
    const link = harness.connect('ws', { address: '198.51.100.30', port: 0 });
    link.send({ $case: 'registerPk', value: registerPk('123456789', 1) });
    expect(await link.expect('registerPkResponse')).toEqual({ result: OK, keepAlive: 60 });
    const peer = harness.core.peers.get('123456789')!;
    clock.advance(3_600_000);
    expect(harness.core.peers.isOnline(peer, clock.now())).toBe(true);
    expect(await harness.metric('switchboard_signal_registration_links')).toBe(1);

    // PunchHole for it goes down the link, not over UDP.
    const a = harness.connect('tcp', { address: '203.0.113.40', port: 41000 });
    a.send({
      $case: 'punchHoleRequest',
      value: {
        id: '123456789',
        natType: 1,
        licenceKey: '',
        connType: 0,
        token: '',
        version: '1.4.0',
        udpPort: 0,
        forceRelay: false,
        upnpPort: 0,
        socketAddrV6: Buffer.alloc(0),
        switchCode: '',
      },
    });
    const punch = await link.expect('punchHole');
    expect(punch.relayServer).toBe(RELAY);
    expect(harness.datagrams).toEqual([]);

    link.destroy();
    await link.closed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(peer.link).toBeUndefined();
    expect(harness.core.peers.isOnline(peer, clock.now())).toBe(false);
    a.destroy();
  });

  it('pings the link with empty frames and stays up while the client echoes them', async () => {
    harness = new CoreHarness({
      key: 'none',
      limits: { sweepIntervalMs: 20, linkPingIntervalMs: 40, linkIdleTimeoutMs: 300 },
    });
    const link = harness.connect('tcp', { address: '198.51.100.31', port: 4444 });
    link.send({ $case: 'registerPk', value: registerPk('123456789', 1) });
    expect((await link.expect('registerPkResponse')).keepAlive).toBe(60);
    let pings = 0;
    const started = Date.now();
    while (Date.now() - started < 700) {
      const frame = await link.nextFrame(500);
      expect(frame.length).toBe(0);
      pings++;
      link.sendHeartbeat();
    }
    // Silence past 0.3 s would have closed it; the echoes kept it up.
    expect(pings).toBeGreaterThanOrEqual(8);
    expect(harness.core.peers.get('123456789')?.link?.closed).toBe(false);
  });

  it('closes a link that stops echoing, after the idle timeout', async () => {
    harness = new CoreHarness({
      key: 'none',
      limits: { sweepIntervalMs: 20, linkPingIntervalMs: 40, linkIdleTimeoutMs: 300 },
    });
    const link = harness.connect('tcp', { address: '198.51.100.32', port: 4444 });
    link.send({ $case: 'registerPk', value: registerPk('123456789', 1) });
    await link.expect('registerPkResponse');
    const started = Date.now();
    await link.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await harness.metric('switchboard_signal_connections_closed_total', { reason: 'timeout' })).toBe(
      1,
    );
  });

  it('replaces an older link of the same device and closes it', async () => {
    harness = new CoreHarness({ key: 'none' });
    const first = harness.connect('tcp', { address: '198.51.100.33', port: 1 });
    first.send({ $case: 'registerPk', value: registerPk('123456789', 1) });
    await first.expect('registerPkResponse');
    const second = harness.connect('tcp', { address: '198.51.100.33', port: 2 });
    second.send({ $case: 'registerPk', value: registerPk('123456789', 1) });
    await second.expect('registerPkResponse');
    await first.closed;
    expect(harness.core.peers.get('123456789')?.port).toBe(2);
    expect(
      await harness.metric('switchboard_signal_connections_closed_total', { reason: 'superseded' }),
    ).toBe(1);
  });

  it('closes the link of a device the moment it is denied, and forgets the device', async () => {
    harness = new CoreHarness({ key: 'none' });
    const link = harness.connect('ws', { address: '198.51.100.34', port: 0 });
    link.send({ $case: 'registerPk', value: registerPk('123456789', 1) });
    await link.expect('registerPkResponse');
    harness.access.deny(['123456789'], 'banned');
    await link.closed;
    expect(harness.core.peers.has('123456789')).toBe(false);
    expect(await harness.metric('switchboard_signal_connections_closed_total', { reason: 'denied' })).toBe(1);
  });

  it('keeps a not-yet-admitted link open for the client to retry on', async () => {
    harness = new CoreHarness({ key: 'none', limits: { messageTimeoutMs: 100 } });
    harness.access.registration.set('123456789', 'not-deployed');
    const link = harness.connect('tcp', { address: '198.51.100.35', port: 1 });
    link.send({ $case: 'registerPk', value: registerPk('123456789', 1) });
    expect(await link.expect('registerPkResponse')).toEqual({ result: NOT_DEPLOYED, keepAlive: 60 });
    expect(await link.quietFor(300)).toBe(true);
    harness.access.registration.delete('123456789');
    link.send({ $case: 'registerPk', value: registerPk('123456789', 1) });
    expect((await link.expect('registerPkResponse')).result).toBe(OK);
  });
});
