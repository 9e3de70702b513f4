import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';

import nacl from 'tweetnacl';

import { generateIdentityKeyPair, signIdPk, verifySignedIdPk } from '@switchboard/crypto';
import { decodePeerMessage, encodeFrame, encodeFrameHeader, encodePeerMessage } from '@switchboard/protocol';
import { encodeRelayTicket } from '@switchboard/relay-registry';
import { metric, waitFor } from '@switchboard/test-net';

import { BulkPeer, type BulkTransport } from './test/bulk-peer';
import { NODE_ADDRESS, RelayFixture } from './test/relay-fixture';

// A relay node in process, on real sockets, wired to the real Redis under a prefix of its own, with
// what signal (tickets) and the api (events, access lists) would write there. The full E2E handshake
// of the reference RustDesk peers through the real relay process is in apps/e2e relay-flows (relay
// code may not depend on libs/testing, which builds on data-access).

const MiB = 1024 * 1024;
const UNLIMITED = { totalMbps: 1_000_000, singleMbps: 1_000_000, limitSpeedMbps: 1_000_000 };

describe('relay node (real sockets, real Redis)', () => {
  let fixture: RelayFixture;
  const peers: BulkPeer[] = [];

  beforeEach(() => (fixture = new RelayFixture()));
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    await fixture.close();
  });

  async function join(
    ports: { tcp: number; ws: number },
    transport: BulkTransport,
    options: { uuid: string; peerId?: string; licenceKey?: string; localAddress?: string; trailing?: Buffer },
  ): Promise<BulkPeer> {
    const peer = await BulkPeer.join({
      transport,
      port: transport === 'tcp' ? ports.tcp : ports.ws,
      ...options,
    });
    peers.push(peer);
    return peer;
  }

  describe('relaying', () => {
    it.each<[BulkTransport, BulkTransport]>([
      ['tcp', 'tcp'],
      ['ws', 'ws'],
      ['tcp', 'ws'],
    ])(
      '%s ↔ %s: 64 MiB each way arrive intact (SHA-256), one WS message per frame',
      async (left, right) => {
        const relay = await fixture.startNode({ bandwidth: UNLIMITED });
        const uuid = randomUUID();
        await fixture.ticket(uuid);
        const b = await join(relay, left, { uuid });
        const a = await join(relay, right, { uuid, peerId: '111111111' });
        await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');

        const total = 64 * MiB;
        const [sentByA, sentByB, gotByB, gotByA] = await Promise.all([
          a.send(total),
          b.send(total),
          b.receive(total, 90_000),
          a.receive(total, 90_000),
        ]);
        expect(gotByB).toBe(sentByA);
        expect(gotByA).toBe(sentByB);
        // 64 KiB frames: whatever the transports, each frame arrives as one frame or message.
        expect([a.frames, b.frames]).toEqual([1024, 1024]);
        a.close();
        await b.closed;
        expect(
          await metric(relay.registry, 'switchboard_relay_bytes_total', { direction: 'from-controller' }),
        ).toBeGreaterThanOrEqual(total);
        expect(
          await metric(relay.registry, 'switchboard_relay_bytes_total', { direction: 'from-controlled' }),
        ).toBeGreaterThanOrEqual(total);
      },
      120_000,
    );

    it.each<[BulkTransport, BulkTransport]>([
      ['tcp', 'tcp'],
      ['ws', 'tcp'],
      ['tcp', 'ws'],
    ])(
      'B on %s, A on %s: the SignedId B sends right after RequestRelay reaches A first, intact, once A comes',
      async (bSide, aSide) => {
        const relay = await fixture.startNode();
        const device = { id: '987654321', identity: nacl.sign.keyPair(), box: nacl.box.keyPair() };
        const uuid = randomUUID();
        await fixture.ticket(uuid, ['123456789', device.id]);
        // src/server.rs: B writes its SignedId straight after RequestRelay, long before A is there.
        const signedId = encodePeerMessage({
          $case: 'signedId',
          value: { id: signIdPk(device.id, device.box.publicKey, device.identity) },
        });
        const b = await join(relay, bSide, { uuid, trailing: signedId });
        await waitFor(() => relay.node.core.waitingConnections === 1, 'B waiting');
        await new Promise((resolve) => setTimeout(resolve, 200));

        const a = await join(relay, aSide, { uuid, peerId: device.id });
        await a.receive(signedId.length);
        expect(a.firstFrames[0]).toEqual(signedId);
        const decoded = decodePeerMessage(a.firstFrames[0] as Buffer);
        if (!decoded.ok || decoded.payload.$case !== 'signedId') throw new Error('not a SignedId');
        expect(verifySignedIdPk(decoded.payload.value.id, device.identity.publicKey)).toEqual({
          id: device.id,
          pk: Buffer.from(device.box.publicKey),
        });
        // The relay itself said nothing to either side.
        expect([a.frames, b.frames]).toEqual([1, 0]);
        await a.sendFrame(Buffer.from('public key'));
        await b.receive(10);
        expect(b.firstFrames[0]?.toString()).toBe('public key');
      },
    );

    it('drops empty frames and empty WS messages both ways, as hbbr does', async () => {
      const relay = await fixture.startNode();
      const uuid = randomUUID();
      await fixture.ticket(uuid);
      const tcp = await join(relay, 'tcp', { uuid });
      const ws = await join(relay, 'ws', { uuid });
      await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');
      await tcp.sendFrame(Buffer.alloc(0));
      await tcp.sendFrame(Buffer.from('after empty'));
      await ws.sendFrame(Buffer.alloc(0));
      await ws.sendFrame(Buffer.from('also after empty'));
      await ws.receive(11);
      await tcp.receive(16);
      expect([ws.frames, tcp.frames]).toEqual([1, 1]);
    });
  });

  describe('admission', () => {
    it('strict: a uuid without a ticket is closed without a byte, a ticketed one pairs', async () => {
      const relay = await fixture.startNode();
      const stranger = await join(relay, 'tcp', { uuid: randomUUID() });
      await stranger.closed;
      expect(stranger.received).toBe(0);
      expect(await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'no-ticket' })).toBe(
        1,
      );

      const uuid = randomUUID();
      await fixture.ticket(uuid);
      const b = await join(relay, 'tcp', { uuid });
      const a = await join(relay, 'ws', { uuid });
      await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');
      await a.sendFrame(Buffer.from('hi'));
      await b.receive(2);
      // The ticket was spent by the pair: the same uuid cannot open a second session.
      const replay = await join(relay, 'tcp', { uuid });
      await replay.closed;
      expect(await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'no-ticket' })).toBe(
        2,
      );
    });

    it('strict: an end that reaches the relay before signal’s ticket is in Redis is admitted once it lands', async () => {
      const relay = await fixture.startNode({ limits: { ticketWaitMs: 2_000 } });
      const uuid = randomUUID();
      const b = await join(relay, 'tcp', { uuid });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await fixture.ticket(uuid);
      const a = await join(relay, 'ws', { uuid });
      await a.sendFrame(Buffer.from('late ticket'));
      await b.receive(11);
      expect(await metric(relay.registry, 'switchboard_relay_refusals_total')).toBe(0);
    });

    it('strict: a ticket written straight to Redis (not signed by signal, or the old unsigned shape) is refused', async () => {
      const relay = await fixture.startNode();
      const forger = generateIdentityKeyPair();
      const [forged, legacy] = [randomUUID(), randomUUID()];
      const claims = {
        uuid: forged,
        peers: ['111111111'],
        relay: NODE_ADDRESS,
        requesterIp: '127.0.0.1',
        answererIp: '127.0.0.1',
        expiresAt: Date.now() + 60_000,
      };
      await fixture.admin.set(
        `${fixture.prefix}:relay:ticket:${forged}`,
        encodeRelayTicket(claims, forger.secretKey),
      );
      // What any Redis writer could mint before tickets were signed.
      await fixture.admin.hset(
        `${fixture.prefix}:relay:ticket:${legacy}`,
        'relay',
        NODE_ADDRESS,
        'peer:111111111',
        '1',
      );

      const ends = [
        await join(relay, 'tcp', { uuid: forged }),
        await join(relay, 'tcp', { uuid: forged, peerId: '111111111' }),
        await join(relay, 'ws', { uuid: legacy }),
        await join(relay, 'tcp', { uuid: legacy, peerId: '111111111' }),
      ];
      await Promise.all(ends.map((end) => end.closed));
      expect(ends.map((end) => end.received)).toEqual([0, 0, 0, 0]);
      expect(await metric(relay.registry, 'switchboard_relay_pairs_total')).toBe(0);
      expect(await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'no-ticket' })).toBe(
        4,
      );
      expect(
        await metric(relay.registry, 'switchboard_tickets_refused_total', { reason: 'forged' }),
      ).toBeGreaterThan(0);
      expect(
        await metric(relay.registry, 'switchboard_tickets_refused_total', { reason: 'malformed' }),
      ).toBeGreaterThan(0);
    });

    it('strict: a ticket is honoured only on the node it names, and only from the two addresses signal saw', async () => {
      const relay = await fixture.startNode();
      const other = await fixture.startNode({
        announce: { nodeId: 'node-other', address: 'relay-other.test:21117', capacity: 100, refreshMs: 100 },
      });
      const uuid = randomUUID();
      // A asked from 127.0.0.2, B answered from 127.0.0.3, and both were told this node.
      await fixture.ticket(uuid, ['111111111'], { requesterIp: '127.0.0.2', answererIp: '127.0.0.3' });

      const elsewhere = await join(other, 'tcp', { uuid, localAddress: '127.0.0.3' });
      await elsewhere.closed;
      expect(
        await metric(other.registry, 'switchboard_relay_refusals_total', { reason: 'wrong-relay' }),
      ).toBe(1);

      const stranger = await join(relay, 'tcp', { uuid, localAddress: '127.0.0.4' });
      await stranger.closed;
      const a = await join(relay, 'tcp', { uuid, peerId: '111111111', localAddress: '127.0.0.2' });
      await waitFor(() => relay.node.core.waitingConnections === 1, 'A waiting');
      // A second connection from A's side cannot take B's place.
      const twin = await join(relay, 'tcp', { uuid, localAddress: '127.0.0.2' });
      await twin.closed;
      expect(
        await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'wrong-address' }),
      ).toBe(2);

      const b = await join(relay, 'ws', { uuid, localAddress: '127.0.0.3' });
      await b.sendFrame(Buffer.from('from B'));
      await a.receive(6);
      expect(await metric(relay.registry, 'switchboard_relay_pairs_total')).toBe(1);
    });

    it('compatibility mode: any uuid pairs, as with hbbr', async () => {
      const relay = await fixture.startNode({ strict: false });
      const uuid = 'not-issued-by-signal';
      const b = await join(relay, 'tcp', { uuid });
      const a = await join(relay, 'tcp', { uuid, peerId: '123456789' });
      await a.sendFrame(Buffer.from('open relay'));
      await b.receive(10);
      expect(await metric(relay.registry, 'switchboard_relay_pairs_total')).toBe(1);
    });

    it('a wrong licence key or an empty uuid closes silently; the right key pairs', async () => {
      const relay = await fixture.startNode({ licenceKey: 'the-key' });
      const uuid = randomUUID();
      await fixture.ticket(uuid);
      const wrong = await join(relay, 'tcp', { uuid, licenceKey: 'another' });
      const empty = await join(relay, 'ws', { uuid: '', licenceKey: 'the-key' });
      await Promise.all([wrong.closed, empty.closed]);
      expect([wrong.received, empty.received]).toEqual([0, 0]);
      expect(
        await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'licence-mismatch' }),
      ).toBe(1);
      expect(await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'empty-uuid' })).toBe(
        1,
      );
      const b = await join(relay, 'tcp', { uuid, licenceKey: 'the-key' });
      const a = await join(relay, 'tcp', { uuid, licenceKey: 'the-key' });
      await b.sendFrame(Buffer.from('ok'));
      await a.receive(2);
    });
  });

  describe('bans', () => {
    it('a ban event cuts the live session carrying the device at once and refuses a new one', async () => {
      const relay = await fixture.startNode();
      const uuid = randomUUID();
      await fixture.ticket(uuid, ['555555555', '666666666']);
      const b = await join(relay, 'tcp', { uuid });
      const a = await join(relay, 'ws', { uuid, peerId: '666666666' });
      await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');

      await fixture.lists.denyDevices(['666666666']);
      const started = Date.now();
      await fixture.publisher.publish('DeviceBanned', { deviceId: '666666666', actor: 'test' });
      await Promise.all([a.closed, b.closed]);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(
        await metric(relay.registry, 'switchboard_relay_sessions_closed_total', { reason: 'denied' }),
      ).toBe(1);

      const again = randomUUID();
      await fixture.ticket(again, ['555555555', '666666666']);
      const refused = await join(relay, 'tcp', { uuid: again });
      await refused.closed;
      expect(
        await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'denied-device' }),
      ).toBe(1);

      // Unbanned, and the api took it out of the set: sessions with it open again.
      await fixture.lists.allowDevices(['666666666']);
      await fixture.publisher.publish('DeviceUnbanned', { deviceId: '666666666', actor: 'test' });
      const third = randomUUID();
      await fixture.ticket(third, ['555555555', '666666666']);
      await waitFor(
        async () => (await metric(relay.registry, 'switchboard_relay_denied_devices')) === 0,
        'the unban',
      );
      const b3 = await join(relay, 'tcp', { uuid: third });
      const a3 = await join(relay, 'tcp', { uuid: third });
      await a3.sendFrame(Buffer.from('back'));
      await b3.receive(4);
    });

    it('a revoke cuts every session of its cascade; a device still revoked stays denied when unbanned', async () => {
      const relay = await fixture.startNode();
      const sessions = await Promise.all(
        ['700000001', '700000002', '700000003'].map(async (device) => {
          const uuid = randomUUID();
          await fixture.ticket(uuid, ['100000000', device]);
          const ends = [await join(relay, 'tcp', { uuid }), await join(relay, 'tcp', { uuid })];
          return { device, ends };
        }),
      );
      await waitFor(() => relay.node.core.liveSessions === 3, 'three pairs');
      await fixture.lists.denyDevices(['700000001', '700000002']);
      await fixture.publisher.publish('DeviceRevoked', {
        deviceId: '700000001',
        cascade: ['700000002'],
        actor: 'test',
      });
      await Promise.all(sessions.slice(0, 2).flatMap((session) => session.ends.map((end) => end.closed)));
      expect(relay.node.core.liveSessions).toBe(1);

      // The api leaves a revoked device in the set when it is unbanned; the relay asks and keeps it.
      await fixture.publisher.publish('DeviceUnbanned', { deviceId: '700000001', actor: 'test' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const uuid = randomUUID();
      await fixture.ticket(uuid, ['700000001']);
      const refused = await join(relay, 'tcp', { uuid });
      await refused.closed;
      expect(
        await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'denied-device' }),
      ).toBe(1);
    });

    it('loads the deny set at start and after a gap in the events, cutting what the lost event carried', async () => {
      await fixture.lists.denyDevices(['800000001']);
      const relay = await fixture.startNode();
      const uuid = randomUUID();
      await fixture.ticket(uuid, ['800000001']);
      const refused = await join(relay, 'tcp', { uuid });
      await refused.closed;
      expect(
        await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'denied-device' }),
      ).toBe(1);

      const live = randomUUID();
      await fixture.ticket(live, ['800000002']);
      const ends = [await join(relay, 'tcp', { uuid: live }), await join(relay, 'ws', { uuid: live })];
      await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');
      // A ban whose event was lost: the set has it, and the next event's seq shows the gap.
      await fixture.lists.denyDevices(['800000002']);
      await fixture.admin.incr(`${fixture.prefix}:events:seq`);
      await fixture.publisher.publish('DeviceApproved', { deviceId: '800000009', actor: 'test' });
      await Promise.all(ends.map((end) => end.closed));
    });
  });

  describe('timeouts', () => {
    it('closes an end whose partner never comes, and a pair where neither side sends', async () => {
      const relay = await fixture.startNode({
        limits: { unpairedTimeoutMs: 300, idleTimeoutMs: 400, sweepIntervalMs: 50 },
      });
      const lonelyUuid = randomUUID();
      await fixture.ticket(lonelyUuid);
      const lonely = await join(relay, 'tcp', { uuid: lonelyUuid });
      const started = Date.now();
      await lonely.closed;
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(await metric(relay.registry, 'switchboard_relay_unpaired_timeouts_total')).toBe(1);

      const uuid = randomUUID();
      await fixture.ticket(uuid);
      const b = await join(relay, 'tcp', { uuid });
      const a = await join(relay, 'ws', { uuid });
      await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');
      // Traffic keeps it alive past the idle timeout...
      let quietSince = Date.now();
      for (let i = 0; i < 6; i++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        await a.sendFrame(Buffer.from('tick'));
        quietSince = Date.now();
      }
      expect(relay.node.core.liveSessions).toBe(1);
      // ...silence ends it.
      await Promise.all([a.closed, b.closed]);
      expect(Date.now() - quietSince).toBeGreaterThanOrEqual(350);
      expect(b.received).toBe(6 * 'tick'.length);
      expect(
        await metric(relay.registry, 'switchboard_relay_sessions_closed_total', { reason: 'idle' }),
      ).toBe(1);
    });
  });

  describe('limits', () => {
    it('SINGLE_BANDWIDTH measurably throttles a session, and the throttle is counted', async () => {
      // 8 Mbit/s of 1024² bits = 1 MiB/s for both directions together.
      const relay = await fixture.startNode({ bandwidth: { ...UNLIMITED, singleMbps: 8 } });
      const uuid = randomUUID();
      await fixture.ticket(uuid);
      const b = await join(relay, 'tcp', { uuid });
      const a = await join(relay, 'tcp', { uuid });
      await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');
      const started = Date.now();
      const sent = a.send(3 * MiB);
      expect(await b.receive(3 * MiB)).toBe(await sent);
      const seconds = (Date.now() - started) / 1000;
      // 3 MiB at 1 MiB/s, less the 100 ms burst and the last read (sent before its wait is paid): at
      // least ~2.4 s however fast the machine, while unthrottled it takes milliseconds.
      expect(seconds).toBeGreaterThan(2);
      expect(seconds).toBeLessThan(6);
      expect(
        await metric(relay.registry, 'switchboard_relay_sessions_throttled_total', { limit: 'single' }),
      ).toBe(1);
    });

    it('a blacklisted IP (managed in Redis) runs at LIMIT_SPEED', async () => {
      await fixture.lists.addToIpList('blacklist', ['127.0.0.7']);
      const relay = await fixture.startNode({ bandwidth: { ...UNLIMITED, limitSpeedMbps: 8 } });
      const uuid = randomUUID();
      await fixture.ticket(uuid, undefined, { answererIp: '127.0.0.7' });
      const b = await join(relay, 'tcp', { uuid, localAddress: '127.0.0.7' });
      const a = await join(relay, 'tcp', { uuid });
      await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');
      // No wait for a sweep: the session is slow from its first byte.
      const started = Date.now();
      const sent = a.send(2 * MiB);
      expect(await b.receive(2 * MiB)).toBe(await sent);
      // 2 MiB at 1 MiB/s, less the burst and the last read: ~1.4 s at the least, milliseconds unthrottled.
      expect((Date.now() - started) / 1000).toBeGreaterThan(1);
      expect(
        await metric(relay.registry, 'switchboard_relay_sessions_throttled_total', { limit: 'limit-speed' }),
      ).toBe(1);
    });

    it('picks up edits of blocklist.txt while running: an added IP is cut and refused, a removed one let in', async () => {
      const directory = await mkdtemp(joinPath(tmpdir(), 'relay-lists-'));
      try {
        const relay = await fixture.startNode({ listsDir: directory, listsReloadMs: 50 });
        const uuid = randomUUID();
        await fixture.ticket(uuid, undefined, { answererIp: '127.0.0.10' });
        const b = await join(relay, 'tcp', { uuid, localAddress: '127.0.0.10' });
        const a = await join(relay, 'tcp', { uuid });
        await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');

        // As an editor saves: a new file renamed over the old name.
        await writeFile(joinPath(directory, 'blocklist.tmp'), '127.0.0.10 abuse\n');
        await rename(joinPath(directory, 'blocklist.tmp'), joinPath(directory, 'blocklist.txt'));
        await Promise.all([a.closed, b.closed]);
        expect(
          await metric(relay.registry, 'switchboard_relay_sessions_closed_total', { reason: 'blocklist' }),
        ).toBe(1);
        const refused = await join(relay, 'tcp', { uuid: randomUUID(), localAddress: '127.0.0.10' });
        await refused.closed;
        expect(
          await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'blocklist' }),
        ).toBe(1);

        await writeFile(joinPath(directory, 'blocklist.txt'), '127.0.0.99\n');
        const again = randomUUID();
        await fixture.ticket(again, undefined, { answererIp: '127.0.0.10' });
        await waitFor(async () => {
          const probe = await join(relay, 'tcp', { uuid: again, localAddress: '127.0.0.10' });
          await new Promise((resolve) => setTimeout(resolve, 50));
          const admitted = relay.node.core.waitingConnections === 1;
          probe.close();
          await probe.closed;
          return admitted;
        }, 'the IP let in again');
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });

    it('the blocklist in Redis refuses at accept, and a RelayBlocklistChanged cuts a live session at once', async () => {
      await fixture.lists.addToIpList('blocklist', ['127.0.0.8']);
      const relay = await fixture.startNode();
      const uuid = randomUUID();
      await fixture.ticket(uuid, undefined, { answererIp: '127.0.0.9' });
      const blocked = await join(relay, 'tcp', { uuid, localAddress: '127.0.0.8' });
      await blocked.closed;
      expect(await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'blocklist' })).toBe(
        1,
      );

      const b = await join(relay, 'tcp', { uuid, localAddress: '127.0.0.9' });
      const a = await join(relay, 'ws', { uuid });
      await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');
      await fixture.lists.addToIpList('blocklist', ['127.0.0.9']);
      const started = Date.now();
      await fixture.publisher.publish('RelayBlocklistChanged', {
        list: 'blocklist',
        action: 'add',
        entry: '127.0.0.9',
      });
      await Promise.all([a.closed, b.closed]);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(
        await metric(relay.registry, 'switchboard_relay_sessions_closed_total', { reason: 'blocklist' }),
      ).toBe(1);
    });

    it('backpressure: a reader that stops reading stalls the writer; nothing piles up in the relay', async () => {
      const relay = await fixture.startNode({ bandwidth: UNLIMITED });
      const uuid = randomUUID();
      await fixture.ticket(uuid);
      const b = await join(relay, 'tcp', { uuid });
      const a = await join(relay, 'tcp', { uuid });
      await waitFor(() => relay.node.core.liveSessions === 1, 'the pair');
      b.pause();
      const heapBefore = process.memoryUsage().heapUsed;
      // The writer respects its socket's backpressure, so how far it gets is what the path buffers.
      let offered = 0;
      const writer = (async () => {
        for (; offered < 512 * MiB; offered += 64 * 1024) await a.sendFrame(Buffer.alloc(64 * 1024, 1));
      })();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const stalledAt = offered;
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(offered).toBe(stalledAt);
      // Kernel socket buffers on both hops plus at most one read buffer in the relay: about 10 MiB on loopback.
      expect(stalledAt).toBeLessThan(32 * MiB);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * MiB);

      b.resume();
      await b.receive(stalledAt + 64 * 1024 * 10);
      a.close();
      await writer.catch(() => undefined);
    }, 60_000);
  });

  describe('bad input', () => {
    it('garbage and an oversized length prefix close that socket only; others carry on', async () => {
      const relay = await fixture.startNode();
      const uuid = randomUUID();
      await fixture.ticket(uuid);
      const b = await join(relay, 'tcp', { uuid });

      const garbage = createConnection({ host: '127.0.0.1', port: relay.tcp });
      garbage.write(encodeFrame(Buffer.from('GET / HTTP/1.1\r\nHost: relay\r\n\r\n')));
      const huge = createConnection({ host: '127.0.0.1', port: relay.tcp });
      huge.write(encodeFrameHeader(0x3fffffff));
      const received: Buffer[] = [];
      for (const socket of [garbage, huge]) socket.on('data', (chunk: Buffer) => received.push(chunk));
      await Promise.all([once(garbage, 'close'), once(huge, 'close')]);
      expect(received).toEqual([]);
      expect(
        await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'not-request-relay' }),
      ).toBe(1);
      expect(
        await metric(relay.registry, 'switchboard_relay_refusals_total', { reason: 'frame-too-large' }),
      ).toBe(1);

      const a = await join(relay, 'tcp', { uuid });
      await a.sendFrame(Buffer.from('fine'));
      await b.receive(4);
    });
  });

  describe('scaling out', () => {
    it('announces itself with its load, and on stop leaves the registry at once while a live session runs on', async () => {
      const relay = await fixture.startNode({
        announce: { nodeId: 'relay-x', address: 'relay-x.test:21117', capacity: 50, refreshMs: 100 },
      });
      const record = async () => {
        const raw = await fixture.admin.get(`${fixture.prefix}:relay:node:relay-x`);
        if (raw === null) return undefined;
        // Sealed with the registry key, as signal's picker checks it.
        const opened = fixture.recordKey.open('relay-x', raw);
        if ('problem' in opened) throw new Error(opened.problem);
        return JSON.parse(opened.recordJson) as Record<string, unknown>;
      };
      await waitFor(async () => (await record()) !== undefined, 'the record');
      expect(await record()).toMatchObject({
        address: 'relay-x.test:21117',
        wsAddress: 'relay-x.test:21119',
        capacity: 50,
      });

      const uuid = randomUUID();
      await fixture.ticket(uuid, undefined, { relay: 'relay-x.test:21117' });
      const b = await join(relay, 'tcp', { uuid });
      const a = await join(relay, 'tcp', { uuid });
      await waitFor(async () => (await record())?.['sessions'] === 1, 'one session announced');
      const sending = a.send(4 * MiB, 16 * 1024);
      await waitFor(async () => Number((await record())?.['bytesPerSecond']) > 0, 'throughput announced');
      await sending;

      let stopped = false;
      const stopping = relay.node.stop(1_000).then((result) => {
        stopped = true;
        return result;
      });
      await waitFor(async () => (await record()) === undefined, 'leaving the registry', 500);
      expect(await fixture.admin.sismember(`${fixture.prefix}:relay:nodes`, 'relay-x')).toBe(0);
      expect(stopped).toBe(false);
      await a.sendFrame(Buffer.from('during the drain'));
      await b.receive(4 * MiB + 16);
      expect(await stopping).toEqual({ cut: 1 });
      await Promise.all([a.closed, b.closed]);
    });
  });
});
