import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import { NatType } from '@switchboard/protocol';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { type ApiProcess, startApi } from './support/api-process';
import { Fleet, linkOf, newMachine, refusedNotDeployed, registersWithin, withinMs } from './support/fleet';
import { relayedSession } from './support/relayed-session';
import { type RelayProcess, startRelay } from './support/relay-process';
import { type SignalProcess, startSignal } from './support/signal-process';

// Issue 5 end to end: the real api, signal and relay processes on one Redis prefix and one database,
// reference RustDesk clients on real sockets, and an operator who acts only through the api's HTTP
// API. A ban must reach the data plane on its own: the api writes Postgres and the relays' deny set,
// then publishes the event; nothing in this test touches Postgres or Redis for it.

jest.setTimeout(90_000);

/** From the api's reply to the socket closing: one Redis hop and one handler, even on a busy box. */
const CUT_BOUND_MS = 2_000;
const OTHER_NETWORK = '127.0.0.2';

describe('bans through the api reach signal and relay (real api, signal and relay processes)', () => {
  const prefix = `e2e-api-bans-${randomUUID()}`;
  let database: TestDatabase;
  let signal: SignalProcess;
  let relay: RelayProcess;
  let api: ApiProcess;
  let fleet: Fleet;
  let authorization: string;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379');
    database = await createTestDatabase();
    signal = await startSignal({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: prefix,
      REGISTRATION_POLICY: 'open',
    });
    [relay, api] = await Promise.all([
      startRelay('e2e-api-relay', { REDIS_KEY_PREFIX: prefix, KEY: '-', KEY_DIR: signal.keyDir }),
      startApi({ DATABASE_URL: database.url, REDIS_KEY_PREFIX: prefix }),
    ]);
    await relay.whenReady();
    authorization = `Bearer ${await api.adminToken()}`;
    fleet = new Fleet({ host: signal.host, port: signal.port, key: signal.publicKeyFile });
    await waitForSignalToSeeRelay(signal);
  }, 120_000);

  afterEach(async () => {
    const mismatches = fleet.uuidMismatches();
    await fleet.stopAll();
    expect(mismatches).toBe(0);
  });

  afterAll(async () => {
    const stopped = await Promise.all([api?.stop(), signal?.stop(), relay?.stop()]);
    await database?.drop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    for (const result of stopped) expect(result?.code).toBe(0);
  }, 60_000);

  async function deviceAction(id: string, action: 'ban' | 'unban', body: object = {}): Promise<void> {
    const response = await fetch(`${api.baseUrl}/api/v1/devices/${id}/${action}`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 200)
      throw new Error(`${action} ${id}: ${response.status} ${await response.text()}`);
  }

  it('a ban closes the device’s live signal link and its relay session, and it cannot register again; unban lets it back', async () => {
    const machineB = newMachine();
    const { peer: b, outcome } = await fleet.register(machineB, 'tcp', { natType: NatType.ASYMMETRIC });
    expect(outcome).toMatchObject({ answered: true });
    const signalLink = linkOf(b);
    const a = fleet.run(newMachine(), { localAddress: OTHER_NETWORK });
    const session = await relayedSession(a, b);

    const started = performance.now();
    await deviceAction(machineB.id, 'ban', { reason: 'e2e: stolen laptop' });
    const replied = performance.now();
    await withinMs(
      Promise.all([signalLink.closed, session.controller.link.closed, session.controlled.link.closed]).then(
        () => undefined,
      ),
      CUT_BOUND_MS,
    );
    process.stdout.write(
      `api bans: reply ${(replied - started).toFixed(1)} ms, reply → links closed ${(performance.now() - replied).toFixed(1)} ms\n`,
    );

    // A reconnecting client is refused as docs/protocol.md §7 says (never UUID_MISMATCH: afterEach checks).
    const again = await fleet.register(machineB, 'tcp');
    expect(again.outcome).toEqual(refusedNotDeployed());
    await again.peer.stop();

    await deviceAction(machineB.id, 'unban');
    const back = await registersWithin(fleet, machineB, 'tcp', 10_000);
    const relayedAgain = await relayedSession(fleet.run(newMachine(), { localAddress: OTHER_NETWORK }), back);
    const message = { salt: randomUUID(), challenge: 'relayed again after unban' };
    await relayedAgain.controller.link.sendPeerMessage({ $case: 'hash', value: message });
    expect(await relayedAgain.controlled.link.nextPeerMessage(5_000)).toEqual({
      $case: 'hash',
      value: message,
    });
  });

  it('the relays’ deny set follows the api: the banned id is in it until unbanned', async () => {
    const machine = newMachine();
    const { outcome } = await fleet.register(machine, 'udp');
    expect(outcome).toMatchObject({ answered: true });
    const denied = () => redis.sismember(`${prefix}:relay:denied-devices`, machine.id);
    await deviceAction(machine.id, 'ban', { reason: 'e2e' });
    expect(await denied()).toBe(1);
    await deviceAction(machine.id, 'unban');
    expect(await denied()).toBe(0);
  });
});

async function waitForSignalToSeeRelay(signal: SignalProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${signal.metricsPort}/metrics`)).text();
    if (Number(/^switchboard_signal_relay_nodes_live(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0) >= 1)
      return;
    if (Date.now() > deadline) throw new Error(`signal never saw the relay:\n${signal.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
