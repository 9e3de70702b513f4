import { randomInt, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';

import { Redis } from 'ioredis';

import { RedisEventBus } from '@switchboard/events';
import { createLogger } from '@switchboard/observability';
import { NatType, RegisterPkResponse_Result } from '@switchboard/protocol';
import {
  createTestDatabase,
  joinRelay,
  LinkClosedError,
  RustDeskPeer,
  type RustDeskPeerOptions,
  type TestDatabase,
} from '@switchboard/testing';

import { relayedSession } from './support/relayed-session';
import { type RelayProcess, startRelay } from './support/relay-process';
import { type SignalProcess, startSignal } from './support/signal-process';
import { E2E_EVENT_SIGNING_KEY } from './support/control-keys';

// The relay issue end to end: the real signal process and two real relay processes sharing one Redis
// prefix (REDIS_KEY_PREFIX: events on <prefix>:events, registry, tickets and access lists under
// <prefix>:relay), with reference RustDesk peers on real sockets. Signal picks a relay from the
// registry (no static RELAY_SERVERS), signs a ticket when B answers, and the strict relays admit
// only that uuid, on the node it names, from the addresses signal saw.

const OTHER_NETWORK = '127.0.0.2';
let loopbackHosts = 0;

/** A loopback address per registering peer, so signal's per-IP limits never bite across tests. */
function ownLoopback(): string {
  const n = loopbackHosts++;
  return `127.0.${20 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

describe('relay flows (real signal and relay processes, reference RustDesk peers)', () => {
  const prefix = `test:e2e-relay:${randomUUID()}`;
  let database: TestDatabase;
  let signal: SignalProcess;
  let relays: RelayProcess[];
  let admin: Redis;
  let key: string;
  const peers: RustDeskPeer[] = [];

  beforeAll(async () => {
    admin = new Redis('redis://127.0.0.1:6379');
    database = await createTestDatabase();
    signal = await startSignal({
      DATABASE_URL: database.url,
      REGISTRATION_POLICY: 'open',
      REDIS_KEY_PREFIX: prefix,
    });
    key = signal.publicKeyFile;
    // KEY=- reads signal's public key: the relays check the licence key clients send.
    const relayEnv = {
      REDIS_KEY_PREFIX: prefix,
      KEY: '-',
      KEY_DIR: signal.keyDir,
      DRAIN_TIMEOUT_SECONDS: '20',
    };
    relays = await Promise.all([startRelay('e2e-relay-1', relayEnv), startRelay('e2e-relay-2', relayEnv)]);
    await Promise.all(relays.map((relay) => relay.whenReady()));
    // Signal's picker refreshes its view of the registry every second: wait until it lists both.
    const deadline = Date.now() + 15_000;
    while ((await liveRelaysSeenBySignal()) < 2) {
      if (Date.now() > deadline) throw new Error(`signal never saw the relays:\n${signal.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 90_000);

  async function liveRelaysSeenBySignal(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${signal.metricsPort}/metrics`)).text();
    return Number(/^switchboard_signal_relay_nodes_live(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0);
  }

  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });

  afterAll(async () => {
    const stopped = await Promise.all([signal?.stop(), ...(relays ?? []).map((relay) => relay.stop())]);
    await database?.drop();
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
    for (const result of stopped) expect(result?.code).toBe(0);
  }, 60_000);

  function peer(options: Partial<RustDeskPeerOptions> = {}): RustDeskPeer {
    const created = new RustDeskPeer({
      id: String(randomInt(100_000_000, 999_999_999)),
      server: { host: signal.host, port: signal.port },
      key,
      localAddress: ownLoopback(),
      timeoutMs: 8_000,
      ...options,
    });
    peers.push(created);
    return created;
  }

  async function registeredB(options: Partial<RustDeskPeerOptions> = {}): Promise<RustDeskPeer> {
    const b = peer({ natType: NatType.ASYMMETRIC, ...options });
    expect(await b.register()).toMatchObject({ answered: true, result: RegisterPkResponse_Result.OK });
    return b;
  }

  it('A asks signal for a relay, B answers, both join the relay signal picked, the E2E handshake and data flow', async () => {
    const b = await registeredB();
    const a = peer({ localAddress: OTHER_NETWORK });
    const session = await relayedSession(a, b);
    expect(relays.map((relay) => relay.address)).toContain(session.relayServer);
    expect(session.controller.handshake).toEqual({
      secured: true,
      peerPk: Buffer.from(b.identity.publicKey),
    });
    expect(session.controlled.handshake).toEqual({ secured: true });

    for (let i = 0; i < 64; i++) {
      const message = { salt: randomUUID(), challenge: 'x'.repeat(16 * 1024) };
      await session.controller.link.sendPeerMessage({ $case: 'hash', value: message });
      expect(await session.controlled.link.nextPeerMessage(5_000)).toEqual({ $case: 'hash', value: message });
      await session.controlled.link.sendPeerMessage({ $case: 'hash', value: message });
      expect(await session.controller.link.nextPeerMessage(5_000)).toEqual({ $case: 'hash', value: message });
    }
  }, 60_000);

  it('over WebSocket too: a WS-registered B always answers through the relay', async () => {
    const b = await registeredB({ transport: 'ws' });
    const a = peer({ localAddress: OTHER_NETWORK, transport: 'ws' });
    const session = await relayedSession(a, b);
    expect(session.controller.handshake).toMatchObject({ secured: true });
    const message = { salt: randomUUID(), challenge: 'over ws' };
    await session.controller.link.sendPeerMessage({ $case: 'hash', value: message });
    expect(await session.controlled.link.nextPeerMessage(5_000)).toEqual({ $case: 'hash', value: message });
  }, 60_000);

  it('A asks for a relay with RequestRelay, as after a failed punch: the ticket is issued on B’s answer and the pair forms', async () => {
    const [relay] = relays as [RelayProcess];
    const b = await registeredB();
    const a = peer({ localAddress: OTHER_NETWORK });
    // secure: A holds B's signed key from the punch, so B opens with its SignedId.
    const outcome = await a.requestRelay(b.id, { relayServer: relay.address, attempts: 1, secure: true });
    if (outcome.kind !== 'accepted') throw new Error(`A got ${inspect(outcome)}`);
    const push = await b.nextPush();
    if (push.push.kind !== 'request-relay') throw new Error(`B got ${push.push.kind}`);
    const controller = await joinRelay({
      relay: relay.address,
      uuid: outcome.uuid,
      peerId: b.id,
      licenceKey: key.trim(),
      localAddress: OTHER_NETWORK,
      timeoutMs: 5_000,
    });
    // B's SignedId is the first thing A reads: the relay paired A with B (docs/protocol.md §6).
    expect((await controller.nextFrame(5_000)).length).toBeGreaterThan(0);
    controller.close();
  }, 60_000);

  it('a RequestRelay naming an online id with a uuid of the sender’s choice does not let two of its connections pair', async () => {
    // Issue 10 item 6: B stays silent, so nothing was brokered; the requester dials the relay twice.
    const [relay] = relays as [RelayProcess];
    const b = await registeredB({ answerPushes: false });
    const attacker = peer({ localAddress: OTHER_NETWORK });
    const uuid = randomUUID();
    const refusedBefore = await relay.metric('switchboard_relay_refusals_total', { reason: 'no-ticket' });
    const outcome = await attacker.requestRelay(b.id, {
      relayServer: relay.address,
      uuid,
      attempts: 1,
      timeoutMs: 1_000,
    });
    expect(outcome.kind).toBe('no-answer');
    const ends = await Promise.all(
      [b.id, ''].map((peerId) =>
        joinRelay({
          relay: relay.address,
          uuid,
          peerId,
          licenceKey: key.trim(),
          localAddress: OTHER_NETWORK,
          timeoutMs: 5_000,
        }),
      ),
    );
    await Promise.all(ends.map((end) => end.closed));
    for (const end of ends) await expect(end.nextFrame(100)).rejects.toBeInstanceOf(LinkClosedError);
    expect(await relay.metric('switchboard_relay_refusals_total', { reason: 'no-ticket' })).toBe(
      refusedBefore + 2,
    );
  }, 60_000);

  it('a uuid signal never brokered is refused by the relay, silently', async () => {
    const [relay] = relays as [RelayProcess];
    const link = await joinRelay({
      relay: relay.address,
      uuid: randomUUID(),
      licenceKey: key.trim(),
      timeoutMs: 5_000,
    });
    await link.closed;
    await expect(link.nextFrame(100)).rejects.toBeInstanceOf(LinkClosedError);
    expect(
      await relay.metric('switchboard_relay_refusals_total', { reason: 'no-ticket' }),
    ).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('a ban cuts the live relayed session carrying the device', async () => {
    const b = await registeredB();
    const a = peer({ localAddress: OTHER_NETWORK });
    const session = await relayedSession(a, b);
    // What the api does: the durable set first, then the event.
    const publisher = new RedisEventBus({
      redis: 'redis://127.0.0.1:6379',
      prefix: `${prefix}:events`,
      signingKey: E2E_EVENT_SIGNING_KEY,
      logger: createLogger({ name: 'e2e', level: 'silent' }),
    });
    try {
      await admin.sadd(`${prefix}:relay:denied-devices`, b.id);
      await publisher.publish('DeviceBanned', { deviceId: b.id, actor: 'e2e' });
    } finally {
      await publisher.stop();
    }
    await Promise.all([session.controller.link.closed, session.controlled.link.closed]);
  }, 60_000);

  it('two relay nodes serve at once and signal spreads sessions over both', async () => {
    const used = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const session = await relayedSession(peer({ localAddress: OTHER_NETWORK }), await registeredB());
      used.set(session.relayServer, (used.get(session.relayServer) ?? 0) + 1);
      session.controller.link.close();
    }
    expect([...used.keys()].sort()).toEqual(relays.map((relay) => relay.address).sort());
    for (const relay of relays)
      expect(await relay.metric('switchboard_relay_pairs_total')).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('stopping one relay drains it: it leaves the registry, its live session runs on, the other takes new ones', async () => {
    const b = await registeredB();
    const live = await relayedSession(peer({ localAddress: OTHER_NETWORK }), b);
    const draining = relays.find((relay) => relay.address === live.relayServer) as RelayProcess;
    const other = relays.find((relay) => relay !== draining) as RelayProcess;

    const stopped = draining.stop();
    const nodeKey = `${prefix}:relay:node:${draining.nodeId}`;
    const deadline = Date.now() + 2_000;
    while ((await admin.exists(nodeKey)) === 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await admin.exists(nodeKey)).toBe(0);
    // Signal's picker refreshes its view every second.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (let i = 0; i < 3; i++) {
      const fresh = await relayedSession(peer({ localAddress: OTHER_NETWORK }), await registeredB());
      expect(fresh.relayServer).toBe(other.address);
      fresh.controller.link.close();
    }
    const message = { salt: randomUUID(), challenge: 'still relayed while draining' };
    await live.controller.link.sendPeerMessage({ $case: 'hash', value: message });
    expect(await live.controlled.link.nextPeerMessage(5_000)).toEqual({ $case: 'hash', value: message });

    live.controller.link.close();
    expect((await stopped).code).toBe(0);
    expect(draining.output()).toContain('"cut":0');
    relays = [other];
  }, 90_000);
});
