import { randomInt, randomUUID } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { connect as tlsConnect } from 'node:tls';

import { Redis } from 'ioredis';

import { NatType, RegisterPkResponse_Result } from '@switchboard/protocol';
import {
  createTestDatabase,
  type LinkTls,
  RustDeskPeer,
  type RustDeskPeerOptions,
  type TestDatabase,
} from '@switchboard/testing';
import { type ServerCertificateFiles, ThrowawayCa } from '@switchboard/tls';

import { relayedSession } from './support/relayed-session';
import { type RelayProcess, startRelay } from './support/relay-process';
import { type SignalProcess, startSignal } from './support/signal-process';

// Issue 14 end to end: the real signal and relay processes with a certificate from a throwaway CA and
// every stream port in its default mode with a certificate (dual), and reference RustDesk peers that
// speak plain (as stock clients do) or TLS on every TCP and WebSocket connection. Each flow crosses
// 21116 (punch, secure TCP), 21115 (NAT test, online query), 21118 (WebSocket), 21117 and 21119
// (relay) in both modes, and a certificate replaced on disk reaches both services while a relayed
// TLS session carries on.

const OTHER_NETWORK = '127.0.0.2';
let loopbackHosts = 0;

function ownLoopback(): string {
  const n = loopbackHosts++;
  return `127.0.${60 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

type Mode = 'plain' | 'tls';

describe('TLS on the data plane (real signal and relay processes, reference RustDesk peers)', () => {
  const prefix = `test:e2e-tls:${randomUUID()}`;
  let ca: ThrowawayCa;
  let files: ServerCertificateFiles;
  let tls: LinkTls;
  let database: TestDatabase;
  let signal: SignalProcess;
  let relay: RelayProcess;
  let admin: Redis;
  let key: string;
  const peers: RustDeskPeer[] = [];

  beforeAll(async () => {
    admin = new Redis('redis://127.0.0.1:6379');
    ca = await ThrowawayCa.create();
    files = await ca.issueServer({ hosts: ['localhost', '127.0.0.1'] });
    tls = { ca: ca.certPem };
    const certificate = {
      TLS_CERT_FILE: files.certFile,
      TLS_KEY_FILE: files.keyFile,
      TLS_RELOAD_SECONDS: '1',
    };
    database = await createTestDatabase();
    signal = await startSignal({
      DATABASE_URL: database.url,
      REGISTRATION_POLICY: 'open',
      REDIS_KEY_PREFIX: prefix,
      ...certificate,
    });
    key = signal.publicKeyFile;
    relay = await startRelay('e2e-tls-relay', {
      REDIS_KEY_PREFIX: prefix,
      KEY: '-',
      KEY_DIR: signal.keyDir,
      ...certificate,
    });
    await relay.whenReady();
    const deadline = Date.now() + 15_000;
    while ((await signalMetric('switchboard_signal_relay_nodes_live')) < 1) {
      if (Date.now() > deadline) throw new Error(`signal never saw the relay:\n${signal.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 90_000);

  async function signalMetric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${signal.metricsPort}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .filter((line) =>
        Object.entries(labels).every(([label, value]) => line.includes(`${label}="${value}"`)),
      )
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  }

  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });

  afterAll(async () => {
    const stopped = await Promise.all([signal?.stop(), relay?.stop()]);
    await database?.drop();
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
    await ca?.dispose();
    for (const result of stopped) expect(result?.code).toBe(0);
  }, 60_000);

  function peer(mode: Mode, options: Partial<RustDeskPeerOptions> = {}): RustDeskPeer {
    const created = new RustDeskPeer({
      id: String(randomInt(100_000_000, 999_999_999)),
      server: { host: signal.host, port: signal.port },
      key,
      localAddress: ownLoopback(),
      timeoutMs: 8_000,
      ...(mode === 'tls' ? { tls } : {}),
      ...options,
    });
    peers.push(created);
    return created;
  }

  async function relayedPair(modeA: Mode, modeB: Mode, transport: 'tcp' | 'ws' = 'tcp') {
    const b = peer(modeB, { natType: NatType.ASYMMETRIC, transport: transport === 'ws' ? 'ws' : 'udp' });
    expect(await b.register()).toMatchObject({ answered: true, result: RegisterPkResponse_Result.OK });
    const a = peer(modeA, {
      localAddress: OTHER_NETWORK,
      ...(transport === 'ws' ? { transport: 'ws' } : {}),
    });
    const session = await relayedSession(a, b);
    expect(session.relayServer).toBe(relay.address);
    expect(session.controller.handshake).toMatchObject({ secured: true });
    return { a, b, session };
  }

  async function exchange(session: Awaited<ReturnType<typeof relayedPair>>['session'], rounds: number) {
    for (let i = 0; i < rounds; i++) {
      const message = { salt: randomUUID(), challenge: 'x'.repeat(8 * 1024) };
      await session.controller.link.sendPeerMessage({ $case: 'hash', value: message });
      expect(await session.controlled.link.nextPeerMessage(5_000)).toEqual({ $case: 'hash', value: message });
      await session.controlled.link.sendPeerMessage({ $case: 'hash', value: message });
      expect(await session.controller.link.nextPeerMessage(5_000)).toEqual({ $case: 'hash', value: message });
    }
  }

  const pairs: [Mode, Mode][] = [
    ['plain', 'plain'],
    ['tls', 'plain'],
    ['plain', 'tls'],
    ['tls', 'tls'],
  ];

  it.each(pairs)(
    'over TCP, A %s and B %s: punch on 21116 (secure TCP), relay on 21117, E2E handshake and data',
    async (modeA, modeB) => {
      const { session } = await relayedPair(modeA, modeB);
      await exchange(session, 16);
    },
    60_000,
  );

  it.each(pairs)(
    'over WebSocket, A %s and B %s: ws/wss on 21118 and 21119 share their ports',
    async (modeA, modeB) => {
      const { session } = await relayedPair(modeA, modeB, 'ws');
      await exchange(session, 4);
    },
    60_000,
  );

  it.each(['plain', 'tls'] as Mode[])(
    'the NAT test and the online query on 21115, %s',
    async (mode) => {
      const b = peer('plain');
      expect(await b.register()).toMatchObject({ answered: true });
      const a = peer(mode);
      const nat = await a.testNat();
      expect(nat).toBeDefined();
      expect(await a.queryOnline([b.id, '000000001'])).toEqual([true, false]);
    },
    60_000,
  );

  it('counts both protocols on every dual port it served', async () => {
    for (const listener of ['tcp', 'nat-test', 'ws']) {
      for (const protocol of ['plain', 'tls']) {
        expect(
          await signalMetric('switchboard_tls_listener_connections_total', { listener, protocol }),
        ).toBeGreaterThan(0);
      }
    }
    for (const listener of ['tcp', 'ws']) {
      for (const protocol of ['plain', 'tls']) {
        expect(
          await relay.metric('switchboard_tls_listener_connections_total', { listener, protocol }),
        ).toBeGreaterThan(0);
      }
    }
    expect(await relay.metric('switchboard_tls_certificate_expiry_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000,
    );
  });

  it('a certificate renamed over the old one reaches both services; a live TLS relay session carries on', async () => {
    const { session } = await relayedPair('tls', 'tls');
    await exchange(session, 2);
    const before = await servedSerial(relay.port);
    const reloadsBefore = {
      signal: await signalMetric('switchboard_tls_certificate_reloads_total', { result: 'reloaded' }),
      relay: await relay.metric('switchboard_tls_certificate_reloads_total', { result: 'reloaded' }),
    };

    const next = await ca.issueServer({ name: 'next', hosts: ['localhost', '127.0.0.1'] });
    await rename(next.keyFile, files.keyFile);
    await rename(next.certFile, files.certFile);
    const deadline = Date.now() + 20_000;
    while (
      (await signalMetric('switchboard_tls_certificate_reloads_total', { result: 'reloaded' })) ===
        reloadsBefore.signal ||
      (await relay.metric('switchboard_tls_certificate_reloads_total', { result: 'reloaded' })) ===
        reloadsBefore.relay
    ) {
      if (Date.now() > deadline) throw new Error(`no reload:\n${signal.output()}\n${relay.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    await exchange(session, 4);
    const after = await servedSerial(relay.port);
    expect(after).not.toBe(before);
    expect(await servedSerial(signal.port)).toBe(after);
    expect(await relay.metric('switchboard_tls_certificate_reload_failed')).toBe(0);
  }, 60_000);

  /** The serial of the certificate a port serves to a new TLS client now. */
  async function servedSerial(port: number): Promise<string> {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: ca.certPem });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      return socket.getPeerCertificate().serialNumber;
    } finally {
      socket.destroy();
    }
  }
});
