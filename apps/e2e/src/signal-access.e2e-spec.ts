import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';

import { PunchHoleResponse_Failure, RegisterPkResponse_Result } from '@switchboard/protocol';
import {
  createTestDatabase,
  type FramedLink,
  PairingRelay,
  type PeerTransport,
  type RegistrationOutcome,
  type RustDeskPeer,
  type TestDatabase,
} from '@switchboard/testing';

import { ApiStandIn, type Policy } from './support/access-api-stand-in';
import {
  answered,
  delay,
  Fleet,
  linkOf,
  type Machine,
  newMachine,
  refusedNotDeployed,
  registeredLink,
  registersWithin,
  withinMs,
} from './support/fleet';
import { metricValue, readiness, waitUntil } from './support/access-ops-probe';
import { TcpGate } from './support/access-tcp-gate';
import { type SignalProcess, startSignal } from './support/signal-process';

// Bans on live links and every admission policy, end to end: the real signal process (its own
// database, Redis key prefix, ports and key directory), reference RustDesk clients on real sockets,
// and the test playing the api, which writes Postgres and then publishes the event (docs/architecture.md
// "Ban / revoke"). A refused device must never be told UUID_MISMATCH (docs/protocol.md §7): the client
// would throw its id away; every test checks that no client run saw one.

// Real processes on a busy 2-core machine: the e2e project's testTimeout is not applied per project.
jest.setTimeout(60_000);

const REDIS_URL = 'redis://127.0.0.1:6379';
const OK = RegisterPkResponse_Result.OK;
/** RequestRelay's refuse_reason for an unreachable target (the client's own translation key). */
const OFFLINE_REASON = 'Remote desktop is offline';
const UNKNOWN_REASON = 'ID does not exist';
/** A ban reaches the live link through Redis pub/sub and one handler: well under this, even on a busy box. */
const CUT_BOUND_MS = 1_500;
/** How long the Postgres gate holds each new connection in the restart test. */
const POSTGRES_LAG_MS = 1_000;
/** A resync after an outage waits for reconnect back-off and a reload: seconds, not milliseconds. */
const RESYNC_BOUND_MS = 15_000;

describe('signal access: bans on live links and admission policies (real signal process)', () => {
  describe('bans on live links (open policy)', () => {
    let database: TestDatabase;
    let relay: PairingRelay;
    let signal: SignalProcess;
    let api: ApiStandIn;
    let fleet: Fleet;

    beforeAll(async () => {
      database = await createTestDatabase();
      relay = await PairingRelay.start();
      const prefix = uniquePrefix();
      signal = await startSignal({
        DATABASE_URL: database.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        RELAY_SERVERS: relay.address,
        REGISTRATION_POLICY: 'open',
      });
      api = ApiStandIn.create({ databaseUrl: database.url, redisUrl: REDIS_URL, redisKeyPrefix: prefix });
      await api.warmUp();
      fleet = new Fleet({ host: signal.host, port: signal.port, key: signal.publicKeyFile });
      await waitUntil(
        () => readiness(signal.metricsPort),
        (r) => r.ready,
        10_000,
        'signal ready',
      );
    }, 90_000);

    afterEach(async () => {
      const mismatches = fleet.uuidMismatches();
      await fleet.stopAll();
      expect(mismatches).toBe(0);
    });

    afterAll(async () => {
      await api?.close();
      const stopped = await signal?.stop();
      await relay?.close();
      await database?.drop();
      expect(stopped?.code).toBe(0);
    }, 30_000);

    it('DeviceBanned cuts the live TCP and WS links at once; the device is then refused as caller and as target', async () => {
      const onTcp = newMachine();
      const onWs = newMachine();
      const tcpLink = await registeredLink(fleet, onTcp, 'tcp');
      const wsLink = await registeredLink(fleet, onWs, 'ws');
      expect(tcpLink.secured).toBe(true);
      await Promise.all([api.waitForDevice(onTcp.id), api.waitForDevice(onWs.id)]);
      expect(await fleet.controller().queryOnline([onTcp.id, onWs.id])).toEqual([true, true]);

      const tcpCutMs = await cutLatency(tcpLink, () => api.ban(onTcp.id));
      const wsCutMs = await cutLatency(wsLink, () => api.ban(onWs.id));
      report(`DeviceBanned → live link closed: TCP ${tcpCutMs.toFixed(1)} ms, WS ${wsCutMs.toFixed(1)} ms`);
      expect(tcpCutMs).toBeLessThan(CUT_BOUND_MS);
      expect(wsCutMs).toBeLessThan(CUT_BOUND_MS);

      for (const [machine, transport] of [
        [onTcp, 'tcp'],
        [onWs, 'ws'],
      ] as const) {
        // As caller: the client reconnects at once and sends RegisterPk; then it heartbeats.
        expect(await registration(fleet, machine, transport)).toEqual(refusedNotDeployed());
        expect(await heartbeatReplies(fleet, machine)).toEqual({ sent: expect.any(Number), replies: 0 });
        // As target: reads as offline, never as a stranger's id.
        await expectUnreachable(fleet, machine.id);
      }
      expect(await fleet.controller().queryOnline([onTcp.id, onWs.id])).toEqual([false, false]);
    });

    it('DeviceUnbanned lets the device back: it registers again and can be reached', async () => {
      const device = newMachine();
      const link = await registeredLink(fleet, device, 'tcp');
      await api.waitForDevice(device.id);
      await cutLatency(link, () => api.ban(device.id));
      expect(await registration(fleet, device, 'tcp')).toEqual(refusedNotDeployed());

      await api.unban(device.id);
      const back = await registersWithin(fleet, device, 'tcp', 5_000);
      const heartbeats = await heartbeatReplies(fleet, device);
      expect(heartbeats.replies).toBeGreaterThan(0);
      await expectReachable(fleet, back);
    });

    it('an unban forged straight into Redis, or signed but not in Postgres, lets nothing back', async () => {
      const device = newMachine();
      const link = await registeredLink(fleet, device, 'tcp');
      await api.waitForDevice(device.id);
      await cutLatency(link, () => api.ban(device.id));
      const rejectedBefore = await metricValue(
        signal.metricsPort,
        'switchboard_events_rejected_frames_total',
      );

      await api.forge('DeviceUnbanned', { deviceId: device.id, actor: 'attacker' });
      await api.announceOnly('DeviceUnbanned', { deviceId: device.id, actor: 'replayed' });
      // Events are handled in order: once a later one has been, both unbans had their chance.
      await api.warmUp();
      await waitUntil(
        () => metricValue(signal.metricsPort, 'switchboard_events_rejected_frames_total'),
        (rejected) => rejected === rejectedBefore + 1,
        5_000,
        'the forged frame dropped',
      );
      await delay(300);

      expect(await registration(fleet, device, 'tcp')).toEqual(refusedNotDeployed());
      await expectUnreachable(fleet, device.id);
    });

    it('DeviceRevoked cuts the device and every device in its cascade set, and only those', async () => {
      const revoked = newMachine();
      const linkedOnWs = newMachine();
      const linkedOnUdp = newMachine();
      const bystander = newMachine();
      const revokedLink = await registeredLink(fleet, revoked, 'tcp');
      const linkedLink = await registeredLink(fleet, linkedOnWs, 'ws');
      const udpRun = fleet.run(linkedOnUdp);
      expect(await udpRun.register({ intervalMs: 500 })).toMatchObject({ answered: true, result: OK });
      const bystanderLink = await registeredLink(fleet, bystander, 'tcp');
      const bystanderCut = closedFlag(bystanderLink);
      await Promise.all(
        [revoked, linkedOnWs, linkedOnUdp, bystander].map((machine) => api.waitForDevice(machine.id)),
      );

      const started = performance.now();
      await api.revoke(revoked.id, [linkedOnWs.id, linkedOnUdp.id]);
      await Promise.all([
        withinMs(revokedLink.closed, CUT_BOUND_MS),
        withinMs(linkedLink.closed, CUT_BOUND_MS),
      ]);
      report(
        `DeviceRevoked with cascade → both live links closed in ${(performance.now() - started).toFixed(1)} ms`,
      );
      await udpRun.stop();

      const controller = fleet.controller();
      expect(await controller.queryOnline([revoked.id, linkedOnWs.id, linkedOnUdp.id, bystander.id])).toEqual(
        [false, false, false, true],
      );
      for (const [machine, transport] of [
        [revoked, 'tcp'],
        [linkedOnWs, 'ws'],
        [linkedOnUdp, 'udp'],
      ] as const) {
        expect(await registration(fleet, machine, transport)).toEqual(refusedNotDeployed());
        expect((await heartbeatReplies(fleet, machine)).replies).toBe(0);
        await expectUnreachable(fleet, machine.id);
      }
      expect(bystanderCut()).toBe(false);
    });

    it('DeviceDeleted: a soft-deleted device is cut and stays refused; a hard-deleted one is cut and its id is free again', async () => {
      const soft = newMachine();
      const hard = newMachine();
      const softLink = await registeredLink(fleet, soft, 'tcp');
      const hardLink = await registeredLink(fleet, hard, 'ws');
      await Promise.all([api.waitForDevice(soft.id), api.waitForDevice(hard.id)]);

      const softCutMs = await cutLatency(softLink, () => api.delete(soft.id, false));
      const hardCutMs = await cutLatency(hardLink, () => api.delete(hard.id, true));
      report(
        `DeviceDeleted → live link closed: soft ${softCutMs.toFixed(1)} ms, hard ${hardCutMs.toFixed(1)} ms`,
      );

      expect(await registration(fleet, soft, 'tcp')).toEqual(refusedNotDeployed());
      expect((await heartbeatReplies(fleet, soft)).replies).toBe(0);
      await expectUnreachable(fleet, soft.id);
      // The row is gone, so under the open policy the id is a new device (and is written down again).
      expect(await registration(fleet, hard, 'ws')).toEqual(answered(OK));
      await api.waitForDevice(hard.id);
    });
  });

  describe('the deny set comes from Postgres: at start, after a gap, after a Redis outage', () => {
    let database: TestDatabase;
    let postgresGate: TcpGate;
    let redisGate: TcpGate;
    let prefix: string;
    let env: Record<string, string>;
    let signal: SignalProcess;
    let api: ApiStandIn;
    let fleet: Fleet;

    beforeAll(async () => {
      database = await createTestDatabase();
      const postgres = new URL(database.url);
      postgresGate = await TcpGate.start({ host: postgres.hostname, port: Number(postgres.port || 5432) });
      redisGate = await TcpGate.start({ host: '127.0.0.1', port: 6379 });
      prefix = uniquePrefix();
      const throughGate = new URL(database.url);
      throughGate.port = String(postgresGate.port);
      // Only the signal process goes through the gates; the test (the api) reaches both directly.
      env = {
        DATABASE_URL: throughGate.toString(),
        REDIS_URL: `redis://127.0.0.1:${redisGate.port}`,
        REDIS_KEY_PREFIX: prefix,
        REGISTRATION_POLICY: 'open',
      };
      signal = await startSignal(env);
      api = ApiStandIn.create({ databaseUrl: database.url, redisUrl: REDIS_URL, redisKeyPrefix: prefix });
      fleet = new Fleet(endpointOf(signal));
      await waitUntil(
        () => readiness(signal.metricsPort),
        (r) => r.ready,
        10_000,
        'signal ready',
      );
    }, 90_000);

    afterEach(async () => {
      const mismatches = fleet.uuidMismatches();
      await fleet.stopAll();
      postgresGate.open();
      redisGate.open();
      expect(mismatches).toBe(0);
    });

    afterAll(async () => {
      await api?.close();
      const stopped = await signal?.stop();
      await postgresGate?.stop();
      await redisGate?.stop();
      await database?.drop();
      expect(stopped?.code).toBe(0);
    }, 30_000);

    /** Stops the signal process, does `whileDown`, starts it again on the same database and prefix. */
    async function restartSignal(whileDown: () => Promise<void>): Promise<void> {
      expect((await signal.stop()).code).toBe(0);
      await whileDown();
      signal = await startSignal(env);
      fleet.retarget(endpointOf(signal));
    }

    it('a ban written while the signal was down is enforced from the moment it starts, even with Postgres slow to answer', async () => {
      const device = newMachine();
      const link = await registeredLink(fleet, device, 'tcp');
      await api.waitForDevice(device.id);
      await restartSignal(async () => {
        await withinMs(link.closed, 5_000);
        // The api bans it now; its event goes out to nobody.
        await api.ban(device.id);
        // A loaded database (or 100k rows to read) takes a while; the deny set must be in before
        // anyone is admitted.
        postgresGate.slowDown(POSTGRES_LAG_MS);
      });

      // The client is reconnecting all along; its first RegisterPk after the restart is refused.
      expect(await registration(fleet, device, 'tcp')).toEqual(refusedNotDeployed());
      expect((await heartbeatReplies(fleet, device)).replies).toBe(0);
      await expectUnreachable(fleet, device.id);
    }, 90_000);

    it('/readyz says not ready until the first resync has loaded Postgres; meanwhile no stored id can register, a banned one included', async () => {
      const banned = newMachine();
      await api.addDevice(banned.id, 'admitted');
      await api.ban(banned.id, { event: false });
      await restartSignal(() => Promise.resolve(postgresGate.close()));

      // Redis and the listeners are fine; only the admission index is missing. Sampled across the 3 s
      // after which the index would be loaded without the event stream (that load fails too).
      for (let sample = 0; sample < 4; sample++) {
        const probe = await readiness(signal.metricsPort);
        expect(probe.status).toBe(503);
        expect(probe.checks['admission']?.ok).toBe(false);
        expect(probe.checks['redis']?.ok).toBe(true);
        await delay(1_000);
      }
      // Signal signs the key of whoever registers an id, so an id whose stored uuid and key cannot be
      // read is not registered (handlers/register-pk.ts, issue 10 item 1): "try later", never OK.
      const meanwhile = await fleet.register(banned, 'tcp');
      expect(meanwhile.outcome).toEqual(answered(RegisterPkResponse_Result.TOO_FREQUENT));

      postgresGate.open();
      const started = performance.now();
      await waitUntil(
        () => readiness(signal.metricsPort),
        (r) => r.ready,
        RESYNC_BOUND_MS,
        'ready again',
      );
      // Ready means resynchronised: the ban is in force.
      expect(await registration(fleet, banned, 'tcp')).toEqual(refusedNotDeployed());
      report(
        `Postgres back → ready and the ban in force within ${(performance.now() - started).toFixed(0)} ms`,
      );
    }, 90_000);

    it('a ban whose event was lost is enforced when the next event reveals the gap', async () => {
      const silentlyBanned = newMachine();
      const bannedWithEvent = newMachine();
      const silentLink = await registeredLink(fleet, silentlyBanned, 'tcp');
      const eventLink = await registeredLink(fleet, bannedWithEvent, 'ws');
      const silentCut = closedFlag(silentLink);
      await Promise.all([api.waitForDevice(silentlyBanned.id), api.waitForDevice(bannedWithEvent.id)]);

      await api.ban(silentlyBanned.id, { event: false });
      await delay(1_500);
      // Nothing told signal yet: it serves what it knows.
      expect(silentCut()).toBe(false);
      expect(await fleet.controller().queryOnline([silentlyBanned.id])).toEqual([true]);

      await api.loseNextSequenceNumber();
      const started = performance.now();
      await api.ban(bannedWithEvent.id);
      await Promise.all([withinMs(silentLink.closed, 5_000), withinMs(eventLink.closed, 5_000)]);
      report(`sequence gap → resync → both links cut in ${(performance.now() - started).toFixed(1)} ms`);
      expect(signal.output()).toContain('event sequence gap; resynchronising');
      await waitUntil(
        () => readiness(signal.metricsPort),
        (r) => r.ready,
        RESYNC_BOUND_MS,
        'ready after gap',
      );
      expect(await registration(fleet, silentlyBanned, 'tcp')).toEqual(refusedNotDeployed());
      expect(await registration(fleet, bannedWithEvent, 'ws')).toEqual(refusedNotDeployed());
    });

    it('after a Redis outage the deny set is resynchronised before /readyz says ready again', async () => {
      const device = newMachine();
      const link = await registeredLink(fleet, device, 'tcp');
      const cut = closedFlag(link);
      await api.waitForDevice(device.id);

      redisGate.close();
      // The ping of the command connection and the event subscriber's close notice are two
      // connections' news, and arrive in either order: wait for both.
      const outage = await waitUntil(
        () => readiness(signal.metricsPort),
        (r) => r.status === 503 && r.checks['admission']?.ok === false,
        RESYNC_BOUND_MS,
        'not ready while Redis is away',
      );
      expect(outage.checks['redis']?.ok).toBe(false);
      expect(outage.checks['admission']?.ok).toBe(false);
      // Banned while signal is cut off from Redis: the event is gone for it.
      await api.ban(device.id);
      await delay(1_500);
      expect(cut()).toBe(false);
      // The data plane kept serving through the outage.
      const other = newMachine();
      expect(await registration(fleet, other, 'udp')).toEqual(answered(OK));

      redisGate.open();
      const started = performance.now();
      await waitUntil(
        () => readiness(signal.metricsPort),
        (r) => r.ready,
        RESYNC_BOUND_MS,
        'ready again',
      );
      expect(await registration(fleet, device, 'tcp')).toEqual(refusedNotDeployed());
      await withinMs(link.closed, 1_000);
      report(
        `Redis back → resynced, ready and the banned link cut within ${(performance.now() - started).toFixed(0)} ms`,
      );
    }, 90_000);
  });

  describe('admission policies (started under token; ConfigChanged switches them live)', () => {
    let database: TestDatabase;
    let signal: SignalProcess;
    let api: ApiStandIn;
    let fleet: Fleet;
    /** Carried from one policy to the next, as a real fleet is. */
    const deployed = newMachine();
    const approved = newMachine();
    const stillPending = newMachine();

    beforeAll(async () => {
      database = await createTestDatabase();
      const prefix = uniquePrefix();
      signal = await startSignal({
        DATABASE_URL: database.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        REGISTRATION_POLICY: 'token',
      });
      api = ApiStandIn.create({ databaseUrl: database.url, redisUrl: REDIS_URL, redisKeyPrefix: prefix });
      fleet = new Fleet(endpointOf(signal));
      await waitUntil(
        () => readiness(signal.metricsPort),
        (r) => r.ready,
        10_000,
        'signal ready',
      );
    }, 90_000);

    afterEach(async () => {
      const mismatches = fleet.uuidMismatches();
      await fleet.stopAll();
      expect(mismatches).toBe(0);
    });

    afterAll(async () => {
      await api?.close();
      const stopped = await signal?.stop();
      await database?.drop();
      expect(stopped?.code).toBe(0);
    }, 30_000);

    async function switchPolicy(policy: Policy): Promise<void> {
      const reloads = () =>
        metricValue(signal.metricsPort, 'switchboard_signal_admission_reloads_total', { outcome: 'ok' });
      const before = await reloads();
      await api.setRegistrationPolicy(policy);
      await waitUntil(
        () => metricValue(signal.metricsPort, 'switchboard_signal_registration_policy', { policy }),
        (value) => value === 1,
        5_000,
        `policy ${policy} in force`,
      );
      // A stricter policy reloads the index first (devices admitted so far may be known only to Postgres).
      if (policy !== 'open')
        await waitUntil(reloads, (count) => count > before, 5_000, 'reload after policy');
    }

    it('token: an id nobody deployed is refused and not recorded; once deployed it registers, and no other machine may take its id', async () => {
      expect(
        await metricValue(signal.metricsPort, 'switchboard_signal_registration_policy', { policy: 'token' }),
      ).toBe(1);
      expect(await registration(fleet, deployed, 'tcp')).toEqual(refusedNotDeployed());
      expect(await registration(fleet, newMachine(deployed.id), 'udp')).toEqual(refusedNotDeployed());
      await expectNonexistent(fleet, deployed.id);
      await delay(1_500); // a write-behind flush interval and then some
      expect(await api.device(deployed.id)).toBeNull();

      await api.deploy({ id: deployed.id, uuid: deployed.uuid, pk: deployed.identity.publicKey });
      const run = await registersWithin(fleet, deployed, 'tcp', 5_000);
      const link = linkOf(run);
      await expectReachable(fleet, run);

      // Another machine claiming the deployed id: refused as undeployed, never UUID_MISMATCH, and the
      // real device keeps its link.
      const impostor = newMachine(deployed.id);
      expect(await registration(fleet, impostor, 'udp')).toEqual(refusedNotDeployed());
      expect(await registration(fleet, impostor, 'tcp')).toEqual(refusedNotDeployed());
      expect(closedFlag(link)()).toBe(false);
      expect(await fleet.controller().queryOnline([deployed.id])).toEqual([true]);
    });

    it('approval: a new id waits as pending in Postgres, unreachable, until DeviceApproved', async () => {
      await switchPolicy('approval');
      expect(await registration(fleet, deployed, 'tcp')).toEqual(answered(OK));
      // Before it ever asked, the id is nobody's.
      await expectNonexistent(fleet, approved.id);

      for (const machine of [approved, stillPending]) {
        expect(await registration(fleet, machine, 'tcp')).toEqual(refusedNotDeployed());
        const row = await api.waitForDevice(machine.id, (r) => r.admission === 'pending');
        expect(Buffer.from(row.uuid ?? [])).toEqual(machine.uuid);
        await expectUnreachable(fleet, machine.id);
      }
      // Still pending on its next try (the client's 30 s retry), over UDP too.
      expect(await registration(fleet, approved, 'udp')).toEqual(refusedNotDeployed());

      await api.approve(approved.id);
      const run = await registersWithin(fleet, approved, 'tcp', 5_000);
      await expectReachable(fleet, run);
      expect(await registration(fleet, stillPending, 'ws')).toEqual(refusedNotDeployed());
      expect((await api.device(stillPending.id))?.admission).toBe('pending');
    });

    it('locked: only devices already known and admitted register', async () => {
      await switchPolicy('locked');
      for (const machine of [deployed, approved]) {
        const run = await registersWithin(fleet, machine, 'tcp', 5_000);
        await expectReachable(fleet, run);
      }
      expect(await registration(fleet, stillPending, 'tcp')).toEqual(refusedNotDeployed());
      await expectUnreachable(fleet, stillPending.id);

      const stranger = newMachine();
      expect(await registration(fleet, stranger, 'tcp')).toEqual(refusedNotDeployed());
      expect(await registration(fleet, newMachine(stranger.id), 'udp')).toEqual(refusedNotDeployed());
      await expectNonexistent(fleet, stranger.id);
      await delay(1_500);
      expect(await api.device(stranger.id)).toBeNull();
    });

    it('open again: a new id registers at once, and the stored policy outlives a resync (it wins over REGISTRATION_POLICY)', async () => {
      await switchPolicy('open');
      const newcomer = newMachine();
      expect(await registration(fleet, newcomer, 'tcp')).toEqual(answered(OK));
      await api.waitForDevice(newcomer.id, (row) => row.admission === 'admitted');

      // A gap makes signal reload everything, the settings row included.
      const reloads = () =>
        metricValue(signal.metricsPort, 'switchboard_signal_admission_reloads_total', { outcome: 'ok' });
      const before = await reloads();
      await api.loseNextSequenceNumber();
      await api.unban(newcomer.id);
      await waitUntil(reloads, (count) => count > before, 10_000, 'reload after the gap');
      expect(
        await metricValue(signal.metricsPort, 'switchboard_signal_registration_policy', { policy: 'open' }),
      ).toBe(1);
      expect(await registration(fleet, newMachine(), 'udp')).toEqual(answered(OK));
    });
  });
});

// ---- helpers ---------------------------------------------------------------------------------

function uniquePrefix(): string {
  return `e2e-access-${randomUUID()}`;
}

function endpointOf(signal: SignalProcess): { host: string; port: number; key: string } {
  return { host: signal.host, port: signal.port, key: signal.publicKeyFile };
}

/** One client run's first RegisterPkResponse. */
async function registration(
  fleet: Fleet,
  machine: Machine,
  transport: PeerTransport,
): Promise<RegistrationOutcome> {
  const { peer, outcome } = await fleet.register(machine, transport);
  await peer.stop();
  return outcome;
}

/** RegisterPeer heartbeats (a client whose key is confirmed) over 1.2 s: how many hbbs answered. */
async function heartbeatReplies(fleet: Fleet, machine: Machine): Promise<{ sent: number; replies: number }> {
  const run = fleet.run(machine, { transport: 'udp', registerTimeoutMs: 200 });
  run.keyConfirmed = true;
  // No RegisterPk goes out unless hbbs asks for one, so this resolves after the window when silent.
  await run.register({ intervalMs: 200, timeoutMs: 1_200 });
  await run.stop();
  expect(run.stats.registerPeerSent).toBeGreaterThanOrEqual(3);
  return { sent: run.stats.registerPeerSent, replies: run.stats.registerPeerResponses };
}

async function punchFailure(fleet: Fleet, targetId: string): Promise<PunchHoleResponse_Failure> {
  const outcome = await fleet.controller().punchHole(targetId);
  if (outcome.kind !== 'failure')
    throw new Error(`expected a failure, got ${inspect(outcome, { depth: 3 })}`);
  return outcome.failure;
}

/** Denied as a target: punch says OFFLINE (a known id, not ID_NOT_EXIST), relay gets a refuse_reason. */
async function expectUnreachable(fleet: Fleet, targetId: string): Promise<void> {
  expect(await punchFailure(fleet, targetId)).toBe(PunchHoleResponse_Failure.OFFLINE);
  const relayed = await fleet.controller().requestRelay(targetId, { attempts: 1 });
  expect(relayed).toMatchObject({ kind: 'refused', reason: OFFLINE_REASON });
}

/** An id nothing is known about, whatever the policy: ID_NOT_EXIST (docs/protocol.md §5.6), not OFFLINE. */
async function expectNonexistent(fleet: Fleet, targetId: string): Promise<void> {
  expect(await punchFailure(fleet, targetId)).toBe(PunchHoleResponse_Failure.ID_NOT_EXIST);
  const relayed = await fleet.controller().requestRelay(targetId, { attempts: 1 });
  expect(relayed).toMatchObject({ kind: 'refused', reason: UNKNOWN_REASON });
}

/** A punch from another network reaches `target` and comes back punched. */
async function expectReachable(fleet: Fleet, target: RustDeskPeer): Promise<void> {
  const punched = fleet.controller().punchHole(target.id);
  const push = await target.nextPush();
  expect(push.push.kind).toBe('punch-hole');
  expect((await punched).kind).toBe('punched');
}

/** Milliseconds from `act` (the api's Postgres write and publish) starting to `link` closing; fails past the bound. */
async function cutLatency(link: FramedLink, act: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await act();
  await withinMs(link.closed, CUT_BOUND_MS);
  return performance.now() - started;
}

function closedFlag(link: FramedLink): () => boolean {
  let closed = false;
  void link.closed.then(() => (closed = true));
  return () => closed;
}

function report(line: string): void {
  process.stdout.write(`signal access: ${line}\n`);
}
