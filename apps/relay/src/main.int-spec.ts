import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Redis } from 'ioredis';
import { WebSocket } from 'ws';

import { EventSigningKey } from '@switchboard/events';
import { encodePublicKeyFile, generateIdentityKeyPair } from '@switchboard/crypto';
import { createLogger } from '@switchboard/observability';
import { RelayRecordKey, RelayTicketStore } from '@switchboard/relay-registry';
import { freeRelayPorts, waitForHealthy } from '@switchboard/test-net';
import { ThrowawayCa } from '@switchboard/tls';

import { BulkPeer } from './test/bulk-peer';

// The real relay process, started the way a deployment starts it (TypeScript through swc), on free ports.

const ROOT = resolve(__dirname, '../../..');
const MAIN = 'apps/relay/src/main.ts';
const RFC_PUBLIC_FILE = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
/** Signal's identity: its public half is in KEY_DIR, as a relay deployment gets it. */
const SIGNAL_KEY = generateIdentityKeyPair();
const SIGNAL_PUBLIC_FILE = encodePublicKeyFile(SIGNAL_KEY.publicKey);

interface Service {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null }>;
}

function run(env: Record<string, string>): Service {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', MAIN], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null }));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

function tcpConnect(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((done, fail) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => done(socket));
    socket.once('error', fail);
  });
}

async function readiness(metricsPort: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
  return { status: response.status, body: await response.json() };
}

async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((done) => setTimeout(done, 50));
  }
}

describe('relay process', () => {
  let root: string;
  let prefix: string;
  let admin: Redis;
  let tickets: RelayTicketStore;
  const running: Service[] = [];
  const peers: BulkPeer[] = [];
  const start = (env: Record<string, string>) => {
    const service = run({
      BIND_HOST: '127.0.0.1',
      KEY_DIR: join(root, 'keys'),
      REDIS_KEY_PREFIX: prefix,
      EVENTS_PUBLIC_KEY: EventSigningKey.generate().verifyKey.toBase64(),
      RELAY_REGISTRY_KEY: RelayRecordKey.generate().toBase64(),
      ...env,
    });
    running.push(service);
    return service;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'relay-main-'));
    await mkdir(join(root, 'keys'));
    await writeFile(join(root, 'keys', 'id_ed25519.pub'), SIGNAL_PUBLIC_FILE);
  });
  beforeEach(() => {
    prefix = `test:relay-main:${randomUUID()}`;
    admin = new Redis('redis://127.0.0.1:6379');
    tickets = new RelayTicketStore({
      redis: admin,
      prefix: `${prefix}:relay`,
      logger: createLogger({ name: 'test', level: 'silent' }),
      signingKey: SIGNAL_KEY.secretKey,
    });
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    for (const service of running.splice(0))
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** A paired session through the process: B on TCP, A on WebSocket (both over TLS when `tls`). */
  async function session(port: number, tls?: { ca: string }): Promise<{ a: BulkPeer; b: BulkPeer }> {
    const uuid = randomUUID();
    // RELAY_PUBLIC_ADDR's default, and both ends on loopback, as signal would have seen them.
    tickets.issue({
      uuid,
      peers: ['222222222'],
      relay: '127.0.0.1:21117',
      requesterIp: '127.0.0.1',
      answererIp: '127.0.0.1',
    });
    await tickets.flush();
    const licenceKey = SIGNAL_PUBLIC_FILE;
    const b = await BulkPeer.join({ transport: 'tcp', port, uuid, licenceKey, tls });
    const a = await BulkPeer.join({
      transport: 'ws',
      port: port + 2,
      uuid,
      peerId: '222222222',
      licenceKey,
      tls,
    });
    peers.push(a, b);
    await a.sendFrame(Buffer.from('paired'));
    await b.receive(6);
    return { a, b };
  }

  it('with signal’s public key in KEY_DIR: serves TCP and WebSocket with the licence check on, is ready once in sync with events, exits 0 on SIGTERM when idle', async () => {
    const { port, metricsPort: metrics } = await freeRelayPorts();
    // Every interface for the clients; the ops endpoints stay on 127.0.0.1 (METRICS_HOST unset).
    const service = start({ RELAY_PORT: String(port), METRICS_PORT: String(metrics), BIND_HOST: '0.0.0.0' });
    await waitForHealthy(service, metrics);
    (await tcpConnect(port, '127.0.0.2')).destroy();
    await expect(tcpConnect(metrics, '127.0.0.2')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const ws = new WebSocket(`ws://127.0.0.1:${port + 2}/ws/relay`);
    await once(ws, 'open');
    ws.terminate();
    expect(
      (
        await eventually(
          () => readiness(metrics),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);
    await session(port);
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    expect(text).toMatch(/^switchboard_relay_connections_accepted_total\{transport="tcp"\} 2$/m);
    expect(text).toMatch(/^switchboard_relay_pairs_total 1$/m);
    // KEY unset: signal's public key, when the relay has it, is the licence key (hbbr's -k) by default.
    expect(service.stdout()).toContain('"licenceCheck":true');
    // The relay only reads signal's public key; it never creates key files.
    expect(await readdir(join(root, 'keys'))).toEqual(['id_ed25519.pub']);

    for (const peer of peers.splice(0)) peer.close();
    const started = Date.now();
    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('on SIGTERM leaves the registry at once, accepts for RELAY_LEAVE_GRACE_SECONDS more, then stops accepting, lets a live session finish, then exits 0', async () => {
    const { port, metricsPort: metrics } = await freeRelayPorts();
    const service = start({
      RELAY_PORT: String(port),
      METRICS_PORT: String(metrics),
      RELAY_NODE_ID: 'draining-node',
      DRAIN_TIMEOUT_SECONDS: '20',
      RELAY_LEAVE_GRACE_SECONDS: '5',
    });
    await waitForHealthy(service, metrics);
    const nodeKey = `${prefix}:relay:node:draining-node`;
    expect(
      await eventually(
        () => admin.exists(nodeKey),
        (n) => n === 1,
      ),
    ).toBe(1);
    const { a, b } = await session(port);

    service.child.kill('SIGTERM');
    expect(
      await eventually(
        () => admin.exists(nodeKey),
        (n) => n === 0,
        1_000,
      ),
    ).toBe(0);
    // The ops port stays up during the drain so orchestrators can see it is draining.
    const draining = await eventually(
      () => readiness(metrics),
      (r) => r.status === 503,
      2_500,
    );
    expect(draining).toMatchObject({
      status: 503,
      body: { checks: { listeners: { ok: false, error: 'draining' } } },
    });
    // Signal may still name this node for up to a second after it left: such a client gets in.
    const late = await tcpConnect(port);
    late.destroy();
    expect(
      await eventually(
        () =>
          tcpConnect(port).then(
            (socket) => {
              socket.destroy();
              return 'accepted';
            },
            (error: NodeJS.ErrnoException) => error.code,
          ),
        (outcome) => outcome === 'ECONNREFUSED',
        10_000,
      ),
    ).toBe('ECONNREFUSED');
    await a.sendFrame(Buffer.from('still here'));
    await b.receive(16);
    expect(service.child.exitCode).toBeNull();

    const ended = Date.now();
    a.close();
    expect((await service.exited).code).toBe(0);
    expect(Date.now() - ended).toBeLessThan(3_000);
    expect(service.stdout()).toContain('"cut":0');
  });

  it('cuts sessions still live at DRAIN_TIMEOUT_SECONDS and exits 0', async () => {
    const { port, metricsPort: metrics } = await freeRelayPorts();
    const service = start({
      RELAY_PORT: String(port),
      METRICS_PORT: String(metrics),
      DRAIN_TIMEOUT_SECONDS: '1',
    });
    await waitForHealthy(service, metrics);
    await eventually(
      () => readiness(metrics),
      (r) => r.status === 200,
    );
    const { a, b } = await session(port);
    const started = Date.now();
    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(4_000);
    await Promise.all([a.closed, b.closed]);
    expect(service.stdout()).toContain('"cut":1');
  });

  it('drops IPs listed in blocklist.txt at accept and takes timeouts from the environment', async () => {
    const lists = join(root, 'lists');
    await mkdir(lists, { recursive: true });
    await writeFile(join(lists, 'blocklist.txt'), '127.0.0.6 banned by hand\n\n127.0.0.66\n');
    const { port, metricsPort: metrics } = await freeRelayPorts();
    const service = start({
      RELAY_PORT: String(port),
      METRICS_PORT: String(metrics),
      RELAY_LISTS_DIR: lists,
      RELAY_FIRST_FRAME_TIMEOUT_SECONDS: '0.3',
    });
    await waitForHealthy(service, metrics);
    expect(service.stdout()).toContain('"blocklistFile":2');
    const blocked = createConnection({ host: '127.0.0.1', port, localAddress: '127.0.0.6' });
    blocked.on('error', () => undefined);
    await once(blocked, 'close');
    const silent = await tcpConnect(port);
    const started = Date.now();
    await once(silent, 'close');
    expect(Date.now() - started).toBeLessThan(2_000);
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    expect(text).toMatch(/^switchboard_relay_refusals_total\{reason="blocklist"\} 1$/m);
    expect(text).toMatch(/^switchboard_relay_refusals_total\{reason="first-frame-timeout"\} 1$/m);
    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });

  it('exits 78 listing every configuration problem', async () => {
    const service = start({ RELAY_PORT: 'abc', LOG_LEVEL: 'loud' });
    expect((await service.exited).code).toBe(78);
    expect(service.stderr()).toContain('RELAY_PORT: must be a port number (got "abc")');
    expect(service.stderr()).toMatch(/LOG_LEVEL: must be one of .* \(got "loud"\)/);
  });

  it('strict mode refuses to start without signal’s public key, saying how to fix it; RELAY_STRICT=false starts unkeyed', async () => {
    const { port, metricsPort: metrics } = await freeRelayPorts();
    const env = { RELAY_PORT: String(port), METRICS_PORT: String(metrics), KEY_DIR: join(root, 'no-keys') };
    const refused = start(env);
    expect((await refused.exited).code).toBe(78);
    expect(refused.stderr()).toContain("RELAY_STRICT needs signal's public key to verify relay tickets");

    const lax = start({ ...env, RELAY_STRICT: 'false' });
    await waitForHealthy(lax, metrics);
    expect(lax.stdout()).toContain('"licenceCheck":false');
    lax.child.kill('SIGTERM');
    expect((await lax.exited).code).toBe(0);
  });

  it('KEY=- refuses to start without signal’s public key, and starts with it', async () => {
    const keyDir = join(root, 'relay-keys');
    const { port, metricsPort: metrics } = await freeRelayPorts();
    const env = { RELAY_PORT: String(port), METRICS_PORT: String(metrics), KEY: '-', KEY_DIR: keyDir };
    const refused = start(env);
    expect((await refused.exited).code).toBe(78);
    expect(refused.stderr()).toContain(`needs signal's public key at ${join(keyDir, 'id_ed25519.pub')}`);

    await mkdir(keyDir);
    await writeFile(join(keyDir, 'id_ed25519.pub'), RFC_PUBLIC_FILE);
    const service = start(env);
    await waitForHealthy(service, metrics);
    expect(service.stdout()).toContain('"licenceCheck":true');
    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });

  it('with a certificate: both ports dual by default, TLS and plain clients served, expiry exported', async () => {
    const ca = await ThrowawayCa.create();
    try {
      const pair = await ca.issueServer();
      const { port, metricsPort: metrics } = await freeRelayPorts();
      const service = start({
        RELAY_PORT: String(port),
        METRICS_PORT: String(metrics),
        TLS_CERT_FILE: pair.certFile,
        TLS_KEY_FILE: pair.keyFile,
      });
      await waitForHealthy(service, metrics);
      expect(service.stdout()).toMatch(/"tcp":"dual","ws":"dual".*relay TLS modes/);
      await session(port, { ca: ca.certPem });
      await session(port);
      const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
      expect(text).toMatch(/^switchboard_tls_certificate_expiry_timestamp_seconds \d+/m);
      expect(text).toMatch(
        /^switchboard_tls_listener_connections_total\{listener="tcp",protocol="tls"\} 1$/m,
      );
      expect(text).toMatch(
        /^switchboard_tls_listener_connections_total\{listener="ws",protocol="plain"\} 1$/m,
      );
      expect(text).toMatch(/^switchboard_relay_pairs_total 2$/m);
      for (const peer of peers.splice(0)) peer.close();
      service.child.kill('SIGTERM');
      expect((await service.exited).code).toBe(0);
    } finally {
      await ca.dispose();
    }
  });

  it('exits 78 listing every TLS problem: a missing certificate file, a world-readable key', async () => {
    const ca = await ThrowawayCa.create();
    try {
      const pair = await ca.issueServer();
      await chmod(pair.keyFile, 0o644);
      const { port, metricsPort: metrics } = await freeRelayPorts();
      const service = start({
        RELAY_PORT: String(port),
        METRICS_PORT: String(metrics),
        TLS_CERT_FILE: join(ca.dir, 'missing.crt'),
        TLS_KEY_FILE: pair.keyFile,
        RELAY_WS_TLS: 'on',
      });
      expect((await service.exited).code).toBe(78);
      expect(service.stderr()).toContain('missing.crt');
      expect(service.stderr()).toContain(pair.keyFile);
    } finally {
      await ca.dispose();
    }
  });
});
