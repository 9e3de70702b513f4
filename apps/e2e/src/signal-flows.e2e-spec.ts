import { randomInt, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';

import nacl from 'tweetnacl';

import { encodePublicKeyFile, parsePublicKeyFile } from '@switchboard/crypto';
import {
  decodeAddrMangle,
  decodeRendezvous,
  NatType,
  PunchHoleResponse_Failure,
  RegisterPkResponse_Result,
} from '@switchboard/protocol';
import { waitFor } from '@switchboard/test-net';
import {
  createTestDatabase,
  FramedLink,
  PairingRelay,
  RustDeskPeer,
  SecureTcpError,
  type RustDeskPeerOptions,
  type TestDatabase,
} from '@switchboard/testing';

import { type SignalProcess, startSignal } from './support/signal-process';

// Every flow of the signal issue, driven end to end: the real signal process (node + swc, its own
// ports, key directory, database) and reference RustDesk peers on real sockets (docs/protocol.md §8).
// B registers from 127.0.0.1; an A on 127.0.0.2 is "another network" to the server, one on
// 127.0.0.1 shares B's public IP. The relay is a pairing stand-in (libs/testing PairingRelay) named
// in RELAY_SERVERS, so the tests see exactly what each peer sends it.

const OTHER_NETWORK = '127.0.0.2';
let loopbackHosts = 0;

/**
 * A loopback address of its own for each registering peer (127.0.1.1, 127.0.1.2, ...): hbbs's
 * per-IP limits (30 RegisterPk, 5 id changes a minute) must not turn one test's peers into
 * another's TOO_FREQUENT.
 */
function ownLoopback(): string {
  const n = loopbackHosts++;
  return `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

describe('signal flows (real signal process, reference RustDesk peers)', () => {
  let database: TestDatabase;
  let relay: PairingRelay;
  let signal: SignalProcess;
  let key: string;
  const peers: RustDeskPeer[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    relay = await PairingRelay.start();
    signal = await startSignal({
      DATABASE_URL: database.url,
      RELAY_SERVERS: relay.address,
      REGISTRATION_POLICY: 'open',
    });
    key = signal.publicKeyFile;
  }, 60_000);

  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });

  afterAll(async () => {
    const stopped = await signal?.stop();
    await relay?.close();
    await database?.drop();
    expect(stopped?.code).toBe(0);
  }, 30_000);

  function peer(options: Partial<RustDeskPeerOptions> = {}): RustDeskPeer {
    const created = new RustDeskPeer({
      id: nineDigitId(),
      server: { host: signal.host, port: signal.port },
      key,
      localAddress: ownLoopback(),
      timeoutMs: 5_000,
      ...options,
    });
    peers.push(created);
    return created;
  }

  /** A UDP-registered B that believes its NAT is cone-like, so it punches rather than relays. */
  async function registeredB(options: Partial<RustDeskPeerOptions> = {}): Promise<RustDeskPeer> {
    const b = peer({ natType: NatType.ASYMMETRIC, ...options });
    expect(await b.register()).toEqual({
      answered: true,
      result: RegisterPkResponse_Result.OK,
      keepAliveSeconds: 0,
    });
    return b;
  }

  describe('registration', () => {
    it('confirms RegisterPk, then answers each RegisterPeer heartbeat without asking for the key again', async () => {
      const b = peer();
      expect(await b.register({ intervalMs: 300 })).toEqual({
        answered: true,
        result: RegisterPkResponse_Result.OK,
        keepAliveSeconds: 0,
      });
      expect(b.keyConfirmed).toBe(true);
      await waitFor(() => b.stats.registerPeerResponses >= 3, 5_000);
      expect(b.stats.registerPeerSent).toBeGreaterThanOrEqual(3);
      expect(b.stats.requestPkReceived).toBe(0);
      expect(b.stats.uuidMismatches).toBe(0);
      expect(await peer().queryOnline([b.id])).toEqual([true]);
    });

    it('asks a client that only heartbeats (key confirmed elsewhere) for its key, then accepts it', async () => {
      const b = peer();
      b.keyConfirmed = true; // a client restarting against a server that never saw it
      const registered = await b.register({ intervalMs: 300 });
      expect(registered).toMatchObject({ answered: true, result: RegisterPkResponse_Result.OK });
      expect(b.stats.registerPeerSent).toBeGreaterThanOrEqual(1);
      expect(b.stats.requestPkReceived).toBe(1);
      expect(await peer().queryOnline([b.id])).toEqual([true]);
    });

    it('registers over one secured TCP link with keep_alive, and pushes PunchHole down that link', async () => {
      const b = peer({ transport: 'tcp', natType: NatType.ASYMMETRIC });
      const registered = await b.register();
      expect(registered).toMatchObject({ answered: true, result: RegisterPkResponse_Result.OK });
      if (!registered.answered) throw new Error('unreachable');
      expect(registered.keepAliveSeconds).toBeGreaterThan(0);
      expect(b.registrationLink?.secured).toBe(true);
      expect(await peer().queryOnline([b.id])).toEqual([true]);

      const a = peer({ localAddress: OTHER_NETWORK });
      const punched = a.punchHole(b.id);
      const push = await b.nextPush();
      expect(push.push).toMatchObject({ kind: 'punch-hole', via: 'tcp' });
      const answer = kind(await push.answer, 'punch-hole-sent');
      const outcome = kind(await punched, 'punched');
      expect(outcome.address).toEqual(answer.local);
      expect(outcome.peerKey).toEqual({ id: b.id, pk: Buffer.from(b.identity.publicKey) });
    });

    it('registers over WebSocket, where a punch to it always goes through the relay', async () => {
      const w = peer({ transport: 'ws' });
      expect(await w.register()).toMatchObject({ answered: true, result: RegisterPkResponse_Result.OK });
      expect(w.registrationLink?.transport).toBe('ws');

      const a = peer({ localAddress: OTHER_NETWORK });
      const outcome = a.punchHole(w.id);
      const push = await w.nextPush();
      expect(push.push).toMatchObject({ kind: 'punch-hole', via: 'ws' });
      const answer = kind(await push.answer, 'relay-response');
      const relayed = kind(await outcome, 'relay');
      expect(relayed.response.uuid).toBe(answer.relay.uuid);
      expect(relayed.peerKey).toEqual({ id: w.id, pk: Buffer.from(w.identity.publicKey) });
    });
  });

  describe('online query', () => {
    it('answers on port − 1 with a full-length bitmap for 1, 8 and 9 peers', async () => {
      const [b1, b2] = await Promise.all([registeredB(), registeredB()]);
      const asker = peer();
      const unknown = () => nineDigitId();
      expect(await asker.queryOnline([b1.id])).toEqual([true]);
      const eight = [b1.id, unknown(), unknown(), unknown(), unknown(), unknown(), unknown(), b2.id];
      expect(await asker.queryOnline(eight)).toEqual([true, false, false, false, false, false, false, true]);
      const nine = [...eight.slice(0, 7).map(() => unknown()), unknown(), b2.id];
      expect(await asker.queryOnline(nine)).toEqual([...new Array<boolean>(8).fill(false), true]);
    });

    it('answers a WebSocket client on the WebSocket port too', async () => {
      const b = await registeredB();
      expect(await peer({ transport: 'ws' }).queryOnline([nineDigitId(), b.id])).toEqual([false, true]);
    });
  });

  describe('NAT test', () => {
    it('sees the same source port on port and port − 1, so the client concludes ASYMMETRIC', async () => {
      const a = peer();
      const result = await a.testNat();
      expect(result.natType).toBe(NatType.ASYMMETRIC);
      expect(result.ports?.[0]).toBeGreaterThan(0);
      expect(result.ports?.[0]).toBe(result.ports?.[1]);
    });
  });

  describe('punch hole', () => {
    it('answers ID_NOT_EXIST for an id nobody registered', async () => {
      const outcome = await peer().punchHole(nineDigitId());
      expect(kind(outcome, 'failure').failure).toBe(PunchHoleResponse_Failure.ID_NOT_EXIST);
    });

    it('answers LICENSE_MISMATCH when the licence key is not the Key', async () => {
      const b = await registeredB();
      const outcome = await peer().punchHole(b.id, { licenceKey: 'not-the-key' });
      expect(kind(outcome, 'failure').failure).toBe(PunchHoleResponse_Failure.LICENSE_MISMATCH);
    });

    it('from another network: PunchHole to B, and A gets B’s TCP address with a pk signed by the .pub', async () => {
      const b = await registeredB();
      const a = peer({ localAddress: OTHER_NETWORK, natType: NatType.ASYMMETRIC });
      const punched = a.punchHole(b.id);

      const push = await b.nextPush();
      if (push.push.kind !== 'punch-hole') throw new Error(`expected PunchHole, got ${push.push.kind}`);
      expect(push.push.via).toBe('udp');
      expect(decodeAddrMangle(push.push.message.socketAddr)).toMatchObject({ address: OTHER_NETWORK });
      expect(push.push.message.natType).toBe(NatType.ASYMMETRIC);
      expect(push.push.message.relayServer).toBe(relay.address);

      const answer = kind(await push.answer, 'punch-hole-sent');
      const outcome = kind(await punched, 'punched');
      expect(outcome.address).toEqual(answer.local);
      expect(outcome.isLocal).toBe(false);
      expect(outcome.response.union).toEqual({ $case: 'natType', value: NatType.ASYMMETRIC });
      expect(outcome.response.relayServer).toBe(relay.address);
      expect(outcome.peerKey).toEqual({ id: b.id, pk: Buffer.from(b.identity.publicKey) });
    });

    it('from the same network: FetchLocalAddr to B, and A gets B’s local address with is_local', async () => {
      const network = ownLoopback();
      const b = await registeredB({ localAddress: network });
      const punched = peer({ localAddress: network }).punchHole(b.id);
      const push = await b.nextPush();
      expect(push.push).toMatchObject({ kind: 'fetch-local-addr', via: 'udp' });
      const answer = kind(await push.answer, 'local-addr');
      const outcome = kind(await punched, 'punched');
      expect(outcome.isLocal).toBe(true);
      expect(outcome.address).toEqual(answer.local);
      expect(outcome.peerKey).toEqual({ id: b.id, pk: Buffer.from(b.identity.publicKey) });
    });

    it('from a WebSocket A on the same IP: PunchHole, never FetchLocalAddr', async () => {
      const network = ownLoopback();
      const b = await registeredB({ localAddress: network });
      const punched = peer({ transport: 'ws', localAddress: network }).punchHole(b.id);
      const push = await b.nextPush();
      expect(push.push.kind).toBe('punch-hole');
      kind(await push.answer, 'punch-hole-sent');
      expect((await punched).kind).toBe('punched');
    });

    it('forced relay: B answers RelayResponse, both meet on the relay and finish the E2E handshake blind to it', async () => {
      const b = await registeredB();
      const a = peer({ localAddress: OTHER_NETWORK });
      const punched = a.punchHole(b.id, { forceRelay: true });

      const push = await b.nextPush();
      if (push.push.kind !== 'punch-hole') throw new Error(`expected PunchHole, got ${push.push.kind}`);
      expect(push.push.message.natType).toBe(NatType.SYMMETRIC);
      const answer = kind(await push.answer, 'relay-response');
      const outcome = kind(await punched, 'relay');
      expect(outcome.response.uuid).toBe(answer.relay.uuid);
      expect(outcome.response.relayServer).toBe(relay.address);
      expect(outcome.response.socketAddr).toEqual(Buffer.alloc(0));
      expect(outcome.peerKey).toEqual({ id: b.id, pk: Buffer.from(b.identity.publicKey) });
      if (outcome.response.union?.$case !== 'pk') throw new Error('RelayResponse to A must carry pk, not id');

      const controller = await a.connectViaRelay({
        relayServer: outcome.response.relayServer,
        uuid: outcome.response.uuid,
        peerId: b.id,
        signedPeerPk: outcome.response.union.value,
      });
      const controlled = await answer.session;
      expect(controller.handshake).toEqual({ secured: true, peerPk: Buffer.from(b.identity.publicKey) });
      expect(controlled.handshake).toEqual({ secured: true });
      const secret = { salt: randomUUID(), challenge: `for ${b.id} only` };
      await controller.link.sendPeerMessage({ $case: 'hash', value: secret });
      expect(await controlled.link.nextPeerMessage(5_000)).toEqual({ $case: 'hash', value: secret });
      expect(relay.relayedBytes(answer.relay.uuid).includes(Buffer.from(secret.salt))).toBe(false);
    });

    it('answers OFFLINE once a peer has been silent for 30 s, while a TCP-registered peer stays online', async () => {
      const quiet = await registeredB();
      const linked = peer({ transport: 'tcp' });
      expect(await linked.register()).toMatchObject({ result: RegisterPkResponse_Result.OK });
      quiet.stopHeartbeat();
      const asker = peer();
      expect(await asker.queryOnline([quiet.id, linked.id])).toEqual([true, true]);

      await new Promise((resolve) => setTimeout(resolve, 31_000));
      expect(await asker.queryOnline([quiet.id, linked.id])).toEqual([false, true]);
      expect(kind(await asker.punchHole(quiet.id), 'failure').failure).toBe(
        PunchHoleResponse_Failure.OFFLINE,
      );
      expect(linked.registrationLink?.isClosed).toBe(false);
      // It stayed up because hbbs pinged it (empty frames) well inside its 1.5 × keep_alive patience.
      expect(linked.stats.heartbeatsEchoed).toBeGreaterThanOrEqual(1);
    }, 60_000);
  });

  describe('relay request', () => {
    it('forwards RequestRelay to B over UDP; B joins the relay and its RelayResponse reaches A', async () => {
      const b = await registeredB();
      const a = peer({ localAddress: OTHER_NETWORK });
      const uuid = randomUUID();
      const requested = a.requestRelay(b.id, { uuid, relayServer: relay.address, attempts: 1 });

      const push = await b.nextPush();
      if (push.push.kind !== 'request-relay') throw new Error(`expected RequestRelay, got ${push.push.kind}`);
      expect(push.push.via).toBe('udp');
      expect(push.push.message.uuid).toBe(uuid);
      expect(decodeAddrMangle(push.push.message.socketAddr)).toMatchObject({ address: OTHER_NETWORK });
      const answer = kind(await push.answer, 'relay-response');
      expect(answer.relay.uuid).toBe(uuid);

      const outcome = kind(await requested, 'accepted');
      expect(outcome.uuid).toBe(uuid);
      // B's RequestRelay reaches the relay on its own connection: it may land after A has its answer.
      await waitFor(() => relay.requests.some((recorded) => recorded.request.uuid === uuid), 5_000);
      const joined = relay.requests.find((recorded) => recorded.request.uuid === uuid);
      expect(joined?.request).toMatchObject({ uuid, licenceKey: key.trim(), id: '' });
    });

    it('answers a refuse_reason at once, not silence, for an unknown or offline target', async () => {
      const outcome = await peer().requestRelay(nineDigitId(), { attempts: 1, timeoutMs: 5_000 });
      expect(kind(outcome, 'refused').reason).not.toBe('');
    });
  });

  describe('id change', () => {
    it('renames a device to a free valid id, refuses taken, malformed and foreign renames', async () => {
      const [c, d] = await Promise.all([registeredB(), registeredB()]);
      const newId = customId();
      expect(await c.changeId(newId)).toBe(RegisterPkResponse_Result.OK);
      expect(c.id).toBe(newId);
      // The device is reachable under its new name.
      const punched = peer({ localAddress: OTHER_NETWORK }).punchHole(newId);
      expect((await c.nextPush()).push.kind).toBe('punch-hole');
      expect(kind(await punched, 'punched').peerKey).toEqual({
        id: newId,
        pk: Buffer.from(c.identity.publicKey),
      });

      const taken = customId();
      expect(await d.changeId(taken)).toBe(RegisterPkResponse_Result.OK);
      expect(await c.changeId(taken)).toBe(RegisterPkResponse_Result.ID_EXISTS);
      expect(await c.changeId('1abcdefg')).toBe(RegisterPkResponse_Result.INVALID_ID_FORMAT);
      // Someone else's machine (another uuid) may not rename c.
      const stranger = peer({ id: c.id });
      expect(await stranger.changeId(customId())).not.toBe(RegisterPkResponse_Result.OK);
    });
  });

  describe('secure TCP', () => {
    it('opens every TCP connection with one box key signed by the key in KEY_DIR', async () => {
      const link = await FramedLink.connectTcp({ host: signal.host, port: signal.port, timeoutMs: 5_000 });
      try {
        const first = decodeRendezvous(await link.nextFrame(5_000));
        if (!first.ok || first.payload.$case !== 'keyExchange') throw new Error('expected KeyExchange first');
        const { keys } = first.payload.value;
        expect(keys).toHaveLength(1);
        expect(keys[0]).toHaveLength(96);
        const boxKey = nacl.sign.open(keys[0] ?? new Uint8Array(0), parsePublicKeyFile(signal.publicKeyFile));
        expect(boxKey).not.toBeNull();
        expect(boxKey).toHaveLength(32);
      } finally {
        link.close();
      }
    });

    it('carries a logged-in client’s punch hole over the secured channel', async () => {
      const b = await registeredB();
      const a = peer({ localAddress: OTHER_NETWORK });
      const punched = a.punchHole(b.id, { token: 'a-login-token' });
      kind(await (await b.nextPush()).answer, 'punch-hole-sent');
      const outcome = kind(await punched, 'punched');
      expect(outcome.secureTcp).toBe('secured');
      expect(outcome.peerKey).toEqual({ id: b.id, pk: Buffer.from(b.identity.publicKey) });
      expect(kind(await a.punchHole(nineDigitId(), { token: 't' }), 'failure').secureTcp).toBe('secured');
    });

    it('is refused by a client configured with another Key', async () => {
      const stranger = peer({ key: encodePublicKeyFile(nacl.sign.keyPair().publicKey) });
      await expect(stranger.punchHole(nineDigitId(), { token: 't' })).rejects.toBeInstanceOf(SecureTcpError);
    });

    it('is not offered on the NAT-test port nor over WebSocket: the first frame is the answer', async () => {
      const online = async (link: FramedLink) => {
        try {
          await link.sendRendezvous({ $case: 'onlineRequest', value: { id: '', peers: ['x'] } });
          return (await link.nextRendezvous(5_000)).$case;
        } finally {
          link.close();
        }
      };
      const nat = await FramedLink.connectTcp({ host: signal.host, port: signal.port - 1, timeoutMs: 5_000 });
      expect(await online(nat)).toBe('onlineResponse');
      const ws = await FramedLink.connectWebSocket(`ws://${signal.host}:${signal.port + 2}/ws/id`, {
        timeoutMs: 5_000,
      });
      expect(await online(ws)).toBe('onlineResponse');
    });
  });
});

/** A custom id as the client validates them: a letter, then 5 to 15 word characters. */
function customId(): string {
  return `e2e${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}

function nineDigitId(): string {
  return String(randomInt(100_000_000, 999_999_999));
}

/** Narrows a `{ kind }` union, failing the test with the whole value when it is another kind. */
function kind<T extends { kind: string }, K extends T['kind']>(
  value: T,
  expected: K,
): Extract<T, { kind: K }> {
  if (value.kind !== expected) {
    throw new Error(`expected ${expected}, got ${inspect(value, { depth: 4 })}`);
  }
  return value as Extract<T, { kind: K }>;
}
