import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { NatType, PunchHoleResponse_Failure, RegisterPkResponse_Result } from '@switchboard/protocol';
import { freeSignalPorts } from '@switchboard/test-net';
import { RustDeskPeer, type RustDeskPeerOptions } from '@switchboard/testing';
import { TrustedProxies } from '@switchboard/transport';

import { KeyStore, loadServerKey } from './key-store';
import { SignalServer } from './server';
import { CoreHarness, ManualClock, RELAY, silentLogger } from './test/core-harness';

// The rendezvous core behind its real listeners on hbbs's port layout, driven by the reference
// RustDesk peer of libs/testing (which does on the wire what the client does). Each peer has its own
// loopback address, so A and B look like two networks.

jest.setTimeout(30_000);

describe('signal against the reference RustDesk peer', () => {
  let keyDir: string;
  let key: string;
  let clock: ManualClock;
  let harness: CoreHarness;
  let server: SignalServer;
  let port: number;
  const peers: RustDeskPeer[] = [];

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'signal-reference-peer-'));
  });
  afterAll(() => rm(keyDir, { recursive: true, force: true }));

  beforeEach(async () => {
    const serverKey = await loadServerKey('-', new KeyStore(keyDir, silentLogger));
    key = await readFile(join(keyDir, 'id_ed25519.pub'), 'utf8');
    clock = new ManualClock(Date.now());
    harness = new CoreHarness({ clock, key: serverKey });
    ({ port } = await freeSignalPorts());
    server = new SignalServer(harness.core, {
      ports: { host: '127.0.0.1', port, natTestPort: port - 1, wsPort: port + 2 },
      trustedProxies: new TrustedProxies([]),
      logger: silentLogger,
    });
    await server.start();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
    await server.close();
  });

  function peer(id: string, localAddress: string, options: Partial<RustDeskPeerOptions> = {}): RustDeskPeer {
    const created = new RustDeskPeer({
      id,
      server: { host: '127.0.0.1', port },
      key,
      localAddress,
      timeoutMs: 5_000,
      ...options,
    });
    peers.push(created);
    return created;
  }

  async function registered(id: string, localAddress: string, options: Partial<RustDeskPeerOptions> = {}) {
    const created = peer(id, localAddress, options);
    const outcome = await created.register();
    expect(outcome).toMatchObject({ answered: true, result: RegisterPkResponse_Result.OK });
    return created;
  }

  it('punches from A to a UDP-registered B, and A gets B’s key vouched for by the server', async () => {
    const b = await registered('100000001', '127.0.0.2');
    const a = peer('100000002', '127.0.0.3');
    const outcome = await a.punchHole(b.id, { token: 'logged-in' });
    expect(outcome.secureTcp).not.toBe('not-asked');
    if (outcome.kind !== 'punched') throw new Error(`expected punched, got ${outcome.kind}`);
    expect(outcome.address.address).toBe('127.0.0.2');
    expect(outcome.isLocal).toBe(false);
    expect(outcome.peerKey).toEqual({ id: b.id, pk: Buffer.from(b.identity.publicKey) });
    expect(b.stats.uuidMismatches).toBe(0);
  });

  it('asks for the LAN address when A and B share a public IP', async () => {
    const b = await registered('100000011', '127.0.0.4');
    const a = peer('100000012', '127.0.0.4');
    const outcome = await a.punchHole(b.id);
    if (outcome.kind !== 'punched') throw new Error(`expected punched, got ${outcome.kind}`);
    expect(outcome.isLocal).toBe(true);
    expect(outcome.peerKey?.id).toBe(b.id);
  });

  it('relays when A forces it: B answers with RelayResponse, A gets the uuid and the signed key', async () => {
    const b = await registered('100000021', '127.0.0.5');
    const a = peer('100000022', '127.0.0.6');
    const outcome = await a.punchHole(b.id, { forceRelay: true });
    if (outcome.kind !== 'relay') throw new Error(`expected relay, got ${outcome.kind}`);
    expect(outcome.response.relayServer).toBe(RELAY);
    expect(outcome.peerKey?.id).toBe(b.id);
    expect(harness.tickets.issued).toEqual([
      {
        uuid: outcome.response.uuid,
        peers: [b.id],
        relay: RELAY,
        requesterIp: '127.0.0.6',
        answererIp: '127.0.0.5',
      },
    ]);
  });

  it('answers ID_NOT_EXIST and OFFLINE, and refuses a relay to an offline peer with a reason', async () => {
    const b = await registered('100000031', '127.0.0.7');
    b.stopHeartbeat();
    const a = peer('100000032', '127.0.0.8');
    const unknown = await a.punchHole('199999999');
    expect(unknown).toMatchObject({ kind: 'failure', failure: PunchHoleResponse_Failure.ID_NOT_EXIST });
    clock.advance(30_000);
    const offline = await a.punchHole(b.id);
    expect(offline).toMatchObject({ kind: 'failure', failure: PunchHoleResponse_Failure.OFFLINE });
    expect(await a.requestRelay(b.id, { relayServer: RELAY, attempts: 1 })).toMatchObject({
      kind: 'refused',
      reason: 'Remote desktop is offline',
    });
  });

  it('brokers a RequestRelay to an online peer and forwards B’s answer', async () => {
    const b = await registered('100000041', '127.0.0.9');
    const a = peer('100000042', '127.0.0.10');
    const outcome = await a.requestRelay(b.id, { relayServer: RELAY, attempts: 1 });
    if (outcome.kind !== 'accepted') throw new Error(`expected accepted, got ${outcome.kind}`);
    const push = await b.nextPush();
    expect(push.push.kind).toBe('request-relay');
    expect(harness.tickets.issued).toEqual([
      { uuid: outcome.uuid, peers: [b.id], relay: RELAY, requesterIp: '127.0.0.10', answererIp: '127.0.0.9' },
    ]);
  });

  it('keeps a TCP-registered B online on its secured link and pushes the PunchHole down it', async () => {
    const b = await registered('100000051', '127.0.0.11', { transport: 'tcp' });
    clock.advance(3_600_000);
    const a = peer('100000052', '127.0.0.12');
    const outcome = await a.punchHole(b.id);
    expect(outcome.kind).toBe('punched');
    const push = await b.nextPush();
    expect(push.push).toMatchObject({ kind: 'punch-hole', via: 'tcp' });
  });

  it('serves a WebSocket-registered B, which always answers through the relay', async () => {
    const b = await registered('100000061', '127.0.0.13', { transport: 'ws' });
    const a = peer('100000062', '127.0.0.14');
    const outcome = await a.punchHole(b.id);
    if (outcome.kind !== 'relay') throw new Error(`expected relay, got ${outcome.kind}`);
    expect(outcome.peerKey?.id).toBe(b.id);
  });

  it('closes a banned device’s live link at once and keeps it off the map', async () => {
    const b = await registered('100000071', '127.0.0.15', { transport: 'tcp' });
    const link = b.registrationLink;
    if (link === undefined) throw new Error('no registration link');
    harness.access.deny([b.id], 'banned');
    await link.closed;
    const a = peer('100000072', '127.0.0.16');
    expect(await a.punchHole(b.id)).toMatchObject({
      kind: 'failure',
      failure: PunchHoleResponse_Failure.OFFLINE,
    });
  });

  it('reports online states for n = 1, 8 and 9, tests NAT, and changes an id', async () => {
    const online = [await registered('100000081', '127.0.0.17'), await registered('100000088', '127.0.0.18')];
    const asker = peer('100000089', '127.0.0.19');
    const ids = Array.from({ length: 9 }, (_, i) => `10000008${i + 1}`);
    expect(await asker.queryOnline(ids.slice(0, 1))).toEqual([true]);
    expect(await asker.queryOnline(ids.slice(0, 8))).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    expect(await asker.queryOnline(ids)).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      false,
    ]);

    const nat = await asker.testNat();
    expect(nat.natType).toBe(NatType.ASYMMETRIC);

    expect(await online[0]!.changeId('front-desk')).toBe(RegisterPkResponse_Result.OK);
    expect(await online[1]!.changeId('front-desk')).toBe(RegisterPkResponse_Result.ID_EXISTS);
    expect(await online[1]!.changeId('9-not-valid')).toBe(RegisterPkResponse_Result.INVALID_ID_FORMAT);
    expect(await asker.queryOnline(['front-desk', '100000081'])).toEqual([true, false]);
  });
});
