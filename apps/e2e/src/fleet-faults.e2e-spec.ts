import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { inspect, isDeepStrictEqual } from 'node:util';

import { Redis } from 'ioredis';
import nacl from 'tweetnacl';

import { applyMigrations, createScratchDatabase, type ScratchDatabase } from '@switchboard/data-access';
import { NatType, RegisterPkResponse_Result } from '@switchboard/protocol';
import { ephemeralPort, joinRelay, type RustDeskPeer } from '@switchboard/testing';

import { type ApiProcess, startApi } from './support/api-process';
import {
  type PrivateRedis,
  queryCluster,
  startCluster,
  startPrivateRedis,
  stopCluster,
} from './support/fault-servers';
import {
  answered,
  delay,
  Fleet,
  linkOf,
  type Machine,
  newMachine,
  refusedNotDeployed,
  withinMs,
} from './support/fleet';
import { relayedSession } from './support/relayed-session';
import { type RelayProcess, startRelay } from './support/relay-process';
import {
  commandOnPath,
  createScratchCluster,
  type ScratchCluster,
  scratchClusterUnavailable,
} from './support/scratch-postgres-cluster';
import { type SignalProcess, startSignal } from './support/signal-process';

// Issue 15, "Bad input and faults": the multi-relay proof (relay-fleet.e2e-spec.ts) with its Redis
// and its Postgres restarted under it. Signal, three relays and the api run as real processes
// against a redis-server and a PostgreSQL cluster of this file's own, so both can be killed and
// started again without touching the shared servers. Redis keeps nothing on disk: a restart loses
// the relay registry, the tickets, the event sequence and the relays' deny set, as a crashed cache
// node does. The claims: no banned device served after the services resync, no session refused that
// should pass once they have, no device write lost. Every bound is a generous deadline on a poll;
// set FLEET_FAULTS_FIGURES_FILE to have the measured recovery times written there as JSON.

const RELAYS = 3;
/** Long enough for every client of Redis to notice and start reconnecting with backoff. */
const OUTAGE_MS = 4_000;
/** From a server's return to the first relayed session, and to one on every relay: generous. */
const RECOVERY_DEADLINE_MS = 45_000;
/**
 * From Redis's return until a relay that takes any uuid refuses a banned device again: the api
 * rebuilds the deny set once its connection is back, the relays re-read it periodically.
 */
const DENY_SET_DEADLINE_MS = 30_000;
/** Deadline of each client step (connect, each reply) while a session is tried. */
const STEP_TIMEOUT_MS = 5_000;

const unavailable =
  scratchClusterUnavailable() ??
  (commandOnPath('redis-server') ? undefined : 'redis-server is not installed');
const describeWithServers = unavailable === undefined ? describe : describe.skip;

/** A relayed session held open: one message each way on demand, and its end. */
interface OpenSession {
  readonly relayServer: string;
  readonly peers: readonly RustDeskPeer[];
  exchange(text: string): Promise<void>;
  /** Resolves once both relay links are closed. */
  readonly cut: Promise<void>;
}

describeWithServers(
  `fleet under Redis and Postgres restarts${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    const prefix = `e2e-faults-${randomUUID()}`;
    const figures: Record<string, number | string> = {};
    let redis: PrivateRedis;
    let cluster: ScratchCluster | undefined;
    let database: ScratchDatabase | undefined;
    let signal: SignalProcess;
    let api: ApiProcess;
    const relays: RelayProcess[] = [];
    /** A fourth node with RELAY_STRICT=false (hbbr's behaviour): only its deny set stands between it and a banned device. */
    let laxRelay: RelayProcess;
    let fleet: Fleet;

    beforeAll(async () => {
      redis = await startPrivateRedis();
      const postgresPort = await ephemeralPort();
      cluster = await createScratchCluster(`sbff${randomBytes(3).toString('hex')}`, postgresPort, {
        hostAuth: 'trust',
      });
      database = await createScratchDatabase(
        `postgresql://postgres@127.0.0.1:${postgresPort}/postgres`,
        'sb_faults_',
      );
      await applyMigrations({ databaseUrl: database.url });
      const services = { DATABASE_URL: database.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix };
      signal = await startSignal({ ...services, REGISTRATION_POLICY: 'open' });
      const relayEnv = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, KEY: '-', KEY_DIR: signal.keyDir };
      api = await startApi(services);
      // One at a time: a relay binds its ports before the next picks free ones (port + 2 is its WebSocket).
      for (let n = 1; n <= RELAYS; n += 1) relays.push(await startRelay(`e2e-faults-${n}`, relayEnv));
      laxRelay = await startRelay('e2e-faults-lax', { ...relayEnv, RELAY_STRICT: 'false' });
      await Promise.all([laxRelay, ...relays].map((relay) => relay.whenReady()));
      fleet = new Fleet({ host: signal.host, port: signal.port, key: signal.publicKeyFile });
      await sessionsOnEveryRelay(RECOVERY_DEADLINE_MS);
    }, 180_000);

    afterEach(async () => {
      const mismatches = fleet?.uuidMismatches();
      await fleet?.stopAll();
      expect(mismatches).toBe(0);
    });

    afterAll(async () => {
      const stopped = await Promise.all([
        api?.stop(),
        signal?.stop(),
        ...relays.map((relay) => relay.stop()),
      ]);
      if (cluster !== undefined) await startCluster(cluster).catch(() => undefined);
      await database?.drop();
      await cluster?.drop();
      await redis?.stop();
      const file = process.env['FLEET_FAULTS_FIGURES_FILE'];
      if (file) await writeFile(file, `${JSON.stringify(figures, null, 2)}\n`);
      for (const result of stopped) expect(result?.code).toBe(0);
    }, 120_000);

    function since(start: number): number {
      return Math.round(performance.now() - start);
    }

    async function signalReady(): Promise<boolean> {
      try {
        return (await fetch(`http://127.0.0.1:${signal.metricsPort}/readyz`)).status === 200;
      } catch {
        return false;
      }
    }

    async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${signal.output()}`);
        await delay(100);
      }
    }

    async function deviceAction(id: string, action: 'ban' | 'unban'): Promise<void> {
      const response = await fetch(`${api.baseUrl}/api/v1/devices/${id}/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await api.adminToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify(action === 'ban' ? { reason: 'e2e: fleet faults' } : {}),
      });
      if (response.status !== 200)
        throw new Error(`${action} ${id}: ${response.status} ${await response.text()}`);
    }

    async function ipListAdd(list: 'blocklist' | 'blacklist', address: string): Promise<void> {
      const response = await fetch(`${api.baseUrl}/api/v1/relay-ip-lists/${list}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await api.adminToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ address, note: 'e2e: fleet faults' }),
      });
      if (response.status !== 201)
        throw new Error(`${list} ${address}: ${response.status} ${await response.text()}`);
    }

    /** What each relay holds of the IP lists managed through the api. */
    async function managedIpEntries(): Promise<Array<{ blocklist: number; blacklist: number }>> {
      return Promise.all(
        [...relays, laxRelay].map(async (relay) => ({
          blocklist: await relay.metric('switchboard_relay_ip_list_entries', {
            list: 'blocklist',
            source: 'managed',
          }),
          blacklist: await relay.metric('switchboard_relay_ip_list_entries', {
            list: 'blacklist',
            source: 'managed',
          }),
        })),
      );
    }
    const EVERY_RELAY_HOLDS_THE_LISTS = Array.from({ length: RELAYS + 1 }, () => ({
      blocklist: 2,
      blacklist: 1,
    }));

    /** The devices table as Postgres holds it, read as the superuser of the scratch cluster. */
    async function sql(query: string): Promise<string[]> {
      if (cluster === undefined || database === undefined) throw new Error('no scratch cluster');
      return queryCluster(cluster.port, database.name, query);
    }

    /** A registered device (B, over UDP, as the stock client) on a machine of its own. */
    async function registered(machine: Machine = newMachine()): Promise<RustDeskPeer> {
      const { peer, outcome } = await fleet.register(machine, 'udp', {
        natType: NatType.ASYMMETRIC,
        timeoutMs: STEP_TIMEOUT_MS,
      });
      if (!outcome.answered || outcome.result !== RegisterPkResponse_Result.OK) {
        await peer.stop();
        throw new Error(`${machine.id} not registered: ${inspect(outcome)}`);
      }
      return peer;
    }

    /** A controller forces a relay to `b` through signal; both join the relay signal picked. */
    async function openSession(b?: RustDeskPeer): Promise<OpenSession> {
      const a = fleet.controller({ timeoutMs: STEP_TIMEOUT_MS });
      let target = b;
      try {
        target ??= await registered();
        const session = await relayedSession(a, target);
        return {
          relayServer: session.relayServer,
          peers: [a, target],
          exchange: async (text) => {
            const message = { salt: randomUUID(), challenge: text };
            await session.controller.link.sendPeerMessage({ $case: 'hash', value: message });
            expect(await session.controlled.link.nextPeerMessage(10_000)).toEqual({
              $case: 'hash',
              value: message,
            });
            await session.controlled.link.sendPeerMessage({ $case: 'hash', value: message });
            expect(await session.controller.link.nextPeerMessage(10_000)).toEqual({
              $case: 'hash',
              value: message,
            });
          },
          cut: Promise.all([session.controller.link.closed, session.controlled.link.closed]).then(
            () => undefined,
          ),
        };
      } catch (error) {
        await Promise.all([a.stop(), b === undefined ? target?.stop() : undefined]);
        throw error;
      }
    }

    async function closeSession(session: OpenSession): Promise<void> {
      await Promise.all(session.peers.map((peer) => peer.stop()));
    }

    /** Fresh sessions, one exchange each, until one works; resolves with how many failed first. */
    async function firstSessionWithin(timeoutMs: number): Promise<number> {
      const deadline = Date.now() + timeoutMs;
      for (let failed = 0; ; failed += 1) {
        try {
          const session = await openSession();
          await session.exchange('back');
          await closeSession(session);
          return failed;
        } catch (error) {
          if (Date.now() > deadline)
            throw new Error(`no relayed session within ${timeoutMs} ms: ${inspect(error)}`);
          await delay(250);
        }
      }
    }

    /**
     * Sessions three at a time until every relay has carried one; every one of them must succeed
     * (the caller has seen one succeed already, so signal and the relays are back).
     */
    async function sessionsOnEveryRelay(
      timeoutMs: number,
    ): Promise<{ sessions: number; byNode: Record<string, number> }> {
      const deadline = Date.now() + timeoutMs;
      const byNode: Record<string, number> = {};
      let sessions = 0;
      while (relays.some((relay) => byNode[relay.nodeId] === undefined)) {
        if (Date.now() > deadline)
          throw new Error(`not every relay carried a session within ${timeoutMs} ms: ${inspect(byNode)}`);
        const batch = await Promise.all(
          Array.from({ length: 3 }, async () => {
            const session = await openSession();
            await session.exchange('spread');
            await closeSession(session);
            return session.relayServer;
          }),
        );
        for (const address of batch) {
          const node = [...relays, laxRelay].find((relay) => relay.address === address)?.nodeId ?? address;
          byNode[node] = (byNode[node] ?? 0) + 1;
          sessions += 1;
        }
      }
      return { sessions, byNode };
    }

    /**
     * Whether `relay` pairs a controller naming `deviceId` with whoever joins on the same uuid, as
     * a client that has the relay's address dials it without asking signal.
     */
    async function relayServes(relay: RelayProcess, deviceId: string): Promise<boolean> {
      const uuid = randomUUID();
      const licenceKey = signal.publicKeyFile.trim();
      const ends = await Promise.all([
        joinRelay({ relay: relay.address, uuid, peerId: deviceId, licenceKey, timeoutMs: STEP_TIMEOUT_MS }),
        joinRelay({ relay: relay.address, uuid, licenceKey, timeoutMs: STEP_TIMEOUT_MS }),
      ]);
      const [controller, controlled] = ends;
      try {
        await controller.sendFrame(Buffer.from('through the relay'));
        return (await controlled.nextFrame(3_000)).toString() === 'through the relay';
      } catch {
        return false;
      } finally {
        for (const end of ends) end.close();
      }
    }

    /** A new client run on `machine` (same id, uuid and key) and signal's first answer to it. */
    async function registerAgain(machine: Machine) {
      const { peer, outcome } = await fleet.register(machine, 'tcp', { timeoutMs: STEP_TIMEOUT_MS });
      await peer.stop();
      return outcome;
    }

    it('Redis restart: live sessions carry on, new ones come back on every relay, and bans made before, during and after hold', async () => {
      // Before: one device banned through the api, devices to ban later, one that should pass,
      // and live relayed sessions (one to the device banned through the api after the restart).
      const bannedBefore = newMachine();
      await registered(bannedBefore);
      await deviceAction(bannedBefore.id, 'ban');
      const bannedDuring = newMachine();
      const { peer: bannedDuringPeer, outcome } = await fleet.register(bannedDuring, 'tcp', {
        natType: NatType.ASYMMETRIC,
      });
      expect(outcome).toEqual(answered(RegisterPkResponse_Result.OK));
      const bannedDuringLink = linkOf(bannedDuringPeer);
      const bannedAfter = newMachine();
      const bannedAfterSession = await openSession(await registered(bannedAfter));
      const keeper = newMachine();
      await registered(keeper);
      const live = await openSession();
      await live.exchange('before');
      expect(await relayServes(laxRelay, keeper.id)).toBe(true);
      expect(await relayServes(laxRelay, bannedBefore.id)).toBe(false);
      // Addresses on the relay IP lists, through the api: every relay holds them.
      await ipListAdd('blocklist', '203.0.113.50');
      await ipListAdd('blocklist', '203.0.113.51');
      await ipListAdd('blacklist', '203.0.113.60');
      await until(
        'every relay holds the managed IP lists',
        async () => isDeepStrictEqual(await managedIpEntries(), EVERY_RELAY_HOLDS_THE_LISTS),
        10_000,
      );

      const killedAt = performance.now();
      await redis.kill();
      await until('signal reports the outage', async () => !(await signalReady()), 10_000);
      // The api's ban committed in Postgres whose event and deny-set write were lost with Redis: the
      // row as its transaction writes it (DeviceRepository.ban), and nothing published.
      await sql(
        `UPDATE devices SET banned = true, ban_reason = 'e2e: during the Redis outage', banned_at = now(), ` +
          `banned_by = 'e2e' WHERE rustdesk_id = '${bannedDuring.id}'`,
      );
      // The relay is a pipe after pairing: Redis going away must not touch a live session.
      for (let n = 0; since(killedAt) < OUTAGE_MS || n < 2; n += 1) {
        await live.exchange(`while Redis is down ${n}`);
        await delay(500);
      }
      figures['redisOutageMs'] = since(killedAt);

      await redis.start();
      const backAt = performance.now();
      await until('signal ready after Redis returns', signalReady, RECOVERY_DEADLINE_MS);
      figures['redisSignalReadyMs'] = since(backAt);

      // The lax relay resynchronised with a Redis that came back empty: it must keep the denials it
      // held (the ban made before the outage), not take the empty set at its word.
      await until(
        'the lax relay resynchronised after the reconnect',
        async () => (await laxRelay.metric('switchboard_events_resyncs_total', { reason: 'reconnect' })) >= 1,
        RECOVERY_DEADLINE_MS,
      );
      expect(await relayServes(laxRelay, bannedBefore.id)).toBe(false);
      // Nor the IP lists: once every relay has resynchronised, each still holds every entry.
      for (const relay of relays) {
        await until(
          `${relay.nodeId} resynchronised after the reconnect`,
          async () => (await relay.metric('switchboard_events_resyncs_total', { reason: 'reconnect' })) >= 1,
          RECOVERY_DEADLINE_MS,
        );
      }
      expect(await managedIpEntries()).toEqual(EVERY_RELAY_HOLDS_THE_LISTS);

      // Resynchronised: every ban Postgres holds is enforced, the one Redis never heard of included.
      for (const machine of [bannedBefore, bannedDuring]) {
        expect({ id: machine.id, outcome: await registerAgain(machine) }).toEqual({
          id: machine.id,
          outcome: refusedNotDeployed(),
        });
      }
      // And the device online when it was banned is no longer served: its link is closed.
      await withinMs(bannedDuringLink.closed, 10_000);

      // The relays' deny set went with Redis: it must come back, or a relay that takes any uuid
      // serves every device banned so far.
      await until(
        'the relay that takes any uuid refuses the banned devices again',
        async () =>
          !(await relayServes(laxRelay, bannedBefore.id)) && !(await relayServes(laxRelay, bannedDuring.id)),
        DENY_SET_DEADLINE_MS,
      );
      figures['redisDenySetBackMs'] = since(backAt);
      // The api wrote the IP lists back from Postgres into the Redis that lost them.
      const lists = new Redis(redis.url);
      try {
        await until(
          'the api rebuilt the IP lists in Redis',
          async () =>
            isDeepStrictEqual((await lists.smembers(`${prefix}:relay:blocklist`)).sort(), [
              '203.0.113.50',
              '203.0.113.51',
            ]) && isDeepStrictEqual(await lists.smembers(`${prefix}:relay:blacklist`), ['203.0.113.60']),
          DENY_SET_DEADLINE_MS,
        );
      } finally {
        lists.disconnect();
      }
      expect(await managedIpEntries()).toEqual(EVERY_RELAY_HOLDS_THE_LISTS);
      expect(await relayServes(laxRelay, keeper.id)).toBe(true);

      const failedFirst = await firstSessionWithin(RECOVERY_DEADLINE_MS);
      figures['redisFirstSessionMs'] = since(backAt);
      figures['redisSessionsFailedBeforeFirst'] = failedFirst;
      const spread = await sessionsOnEveryRelay(RECOVERY_DEADLINE_MS);
      figures['redisEveryRelayMs'] = since(backAt);
      figures['redisSpread'] = inspect(spread.byNode);

      // A ban right after the restart reaches signal and the relay carrying the device's live session.
      const banAt = performance.now();
      await deviceAction(bannedAfter.id, 'ban');
      await withinMs(bannedAfterSession.cut, 10_000);
      figures['redisBanAfterCutMs'] = since(banAt);
      expect(await registerAgain(bannedAfter)).toEqual(refusedNotDeployed());

      // No session refused that should pass: the device that was never banned registers again, and
      // the session that lived through the outage still carries data.
      expect(await registerAgain(keeper)).toEqual(answered(RegisterPkResponse_Result.OK));
      await live.exchange('after Redis returned');

      expect(await sql(`SELECT rustdesk_id FROM devices WHERE banned ORDER BY rustdesk_id`)).toEqual(
        [bannedBefore.id, bannedDuring.id, bannedAfter.id].sort(),
      );
    }, 150_000);

    it('Postgres restart: registered peers keep being served, device writes made meanwhile reach the table, and a later ban holds', async () => {
      const known = newMachine();
      const knownPeer = await registered(known);
      const toBan = newMachine();
      await registered(toBan);

      const stoppedAt = performance.now();
      if (cluster === undefined) throw new Error('no scratch cluster');
      await stopCluster(cluster);

      // Signal answers from memory: sessions to registered devices are brokered and relayed ...
      const during = await openSession(knownPeer);
      await during.exchange('while Postgres is down');
      await closeSession(during);
      // ... devices new to it register (their rows wait in the write-behind) ...
      const newcomers = [newMachine(), newMachine(), newMachine()];
      for (const machine of newcomers) await registered(machine);
      // ... and a known device that comes back with a new key (a reinstall, allowed under `open`).
      const reinstalled: Machine = { ...known, identity: nacl.sign.keyPair() };
      await knownPeer.stop();
      await registered(reinstalled);
      while (since(stoppedAt) < OUTAGE_MS) await delay(100);
      figures['postgresOutageMs'] = since(stoppedAt);

      await startCluster(cluster);
      const backAt = performance.now();
      const wanted = [...newcomers.map((machine) => machine.id), reinstalled.id].sort();
      const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
      await until(
        'the writes made during the outage reach the devices table',
        async () => {
          const rows = await sql(
            `SELECT rustdesk_id, encode(pk, 'hex') FROM devices WHERE rustdesk_id IN ` +
              `(${wanted.map((id) => `'${id}'`).join(',')}) ORDER BY rustdesk_id`,
          ).catch(() => []);
          const expected = wanted.map((id) => {
            const machine = [...newcomers, reinstalled].find((candidate) => candidate.id === id) as Machine;
            return `${id}\t${hex(machine.identity.publicKey)}`;
          });
          return JSON.stringify(rows) === JSON.stringify(expected);
        },
        RECOVERY_DEADLINE_MS,
      );
      figures['postgresWritesLandedMs'] = since(backAt);

      // A ban made once Postgres is back is enforced (the api's pool reconnects; a rejected request
      // while it does is retried, as an operator would).
      const deadline = Date.now() + RECOVERY_DEADLINE_MS;
      for (;;) {
        try {
          await deviceAction(toBan.id, 'ban');
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await delay(500);
        }
      }
      figures['postgresBanAcceptedMs'] = since(backAt);
      expect(await registerAgain(toBan)).toEqual(refusedNotDeployed());
      // An unban is applied only as far as signal reads the row from Postgres: proof its pool is back.
      await deviceAction(toBan.id, 'unban');
      await until(
        'the unbanned device registers again',
        async () => {
          const outcome = await registerAgain(toBan);
          return outcome.answered && outcome.result === RegisterPkResponse_Result.OK;
        },
        RECOVERY_DEADLINE_MS,
      );
      await until('signal ready after Postgres returns', signalReady, RECOVERY_DEADLINE_MS);
      const spread = await sessionsOnEveryRelay(RECOVERY_DEADLINE_MS);
      figures['postgresSpread'] = inspect(spread.byNode);
    }, 150_000);
  },
);
