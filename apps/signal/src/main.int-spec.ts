import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as connectTls } from 'node:tls';

import { parseKeyFilePair } from '@switchboard/crypto';
import { createPrismaClient, DeviceRepository } from '@switchboard/data-access';
import { EventSigningKey } from '@switchboard/events';
import { encodeRendezvous, RegisterPkResponse_Result } from '@switchboard/protocol';
import { RelayRecordKey } from '@switchboard/relay-registry';
import { ephemeralPort, freeSignalPorts, waitForHealthy } from '@switchboard/test-net';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { ThrowawayCa } from '@switchboard/tls';
import { WebSocket } from 'ws';

// The real signal process, started the way a deployment starts it (TypeScript through swc), on free
// ports, with a key directory of its own.

// Each test spawns the service (TypeScript compiled on the fly): far beyond Jest's 5 s default on a busy machine.
jest.setTimeout(60_000);

const ROOT = resolve(__dirname, '../../..');
const MAIN = 'apps/signal/src/main.ts';

interface Service {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(env: Record<string, string>, args: string[] = []): Service {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', MAIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function stop(service: Service): Promise<{ code: number | null; elapsedMs: number }> {
  const started = Date.now();
  service.child.kill('SIGTERM');
  const { code } = await service.exited;
  return { code, elapsedMs: Date.now() - started };
}

async function tcpConnects(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

async function metricValue(metricsPort: number, line: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const match = text.split('\n').find((candidate) => line.test(candidate));
  return match === undefined ? undefined : Number(match.split(' ').at(-1));
}

// The api's event key (its public half) and the registry key, as Kubernetes hands them out.
const CONTROL_KEYS = {
  EVENTS_PUBLIC_KEY: EventSigningKey.generate().verifyKey.toBase64(),
  RELAY_REGISTRY_KEY: RelayRecordKey.generate().toBase64(),
};

describe('signal process', () => {
  let root: string;
  let keyDir: string;
  let database: TestDatabase;
  const running: Service[] = [];
  const start = (env: Record<string, string>, args?: string[]) => {
    const service = run(
      { BIND_HOST: '127.0.0.1', KEY_DIR: keyDir, DATABASE_URL: database.url, ...CONTROL_KEYS, ...env },
      args,
    );
    running.push(service);
    return service;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'signal-main-'));
    keyDir = join(root, 'keys');
    database = await createTestDatabase();
  });
  afterEach(() => {
    for (const service of running.splice(0))
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await database.drop();
  });

  it('starts, creates hbbs key files, serves every port, and exits 0 on SIGTERM', async () => {
    const { port, metricsPort: metrics } = await freeSignalPorts();
    // Every interface for the clients; the ops endpoints stay on 127.0.0.1 (METRICS_HOST unset).
    const service = start({ SIGNAL_PORT: String(port), METRICS_PORT: String(metrics), BIND_HOST: '0.0.0.0' });
    await waitForHealthy(service, metrics);
    expect(await tcpConnects(port, '127.0.0.2')).toBe(true);
    expect(await tcpConnects(metrics, '127.0.0.2')).toBe(false);

    const secretKeyFile = await readFile(join(keyDir, 'id_ed25519'), 'utf8');
    const publicKeyFile = await readFile(join(keyDir, 'id_ed25519.pub'), 'utf8');
    expect(secretKeyFile).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(publicKeyFile).toMatch(/^[A-Za-z0-9+]{43}=$/);
    parseKeyFilePair({ secretKeyFile, publicKeyFile });
    expect((await stat(join(keyDir, 'id_ed25519'))).mode & 0o777).toBe(0o600);
    expect(service.stdout()).toContain(`"publicKey":"${publicKeyFile}"`);

    // hbbs's layout: NAT test on port−1, rendezvous TCP and UDP on port, WebSocket on port+2.
    expect(await tcpConnects(port)).toBe(true);
    expect(await tcpConnects(port - 1)).toBe(true);
    const udp = createSocket('udp4');
    udp.send(Buffer.from('320b0a09313233343536373839', 'hex'), port, '127.0.0.1');
    const datagrams = /^switchboard_signal_datagrams_received_total /;
    for (let i = 0; i < 50 && (await metricValue(metrics, datagrams)) !== 1; i++) {
      await new Promise((done) => setTimeout(done, 50));
    }
    expect(await metricValue(metrics, datagrams)).toBe(1);
    udp.close();

    const ws = new WebSocket(`ws://127.0.0.1:${port + 2}/ws/id`);
    await once(ws, 'open');
    const readiness = await fetch(`http://127.0.0.1:${metrics}/readyz`);
    expect(readiness.status).toBe(200);
    expect(await readiness.json()).toMatchObject({
      ready: true,
      checks: { redis: { ok: true }, admission: { ok: true } },
    });

    // A connected client does not hold the shutdown up: signal drops it and exits.
    const wsClosed = once(ws, 'close');
    const { code, elapsedMs } = await stop(service);
    expect(code).toBe(0);
    expect(elapsedMs).toBeLessThan(5_000);
    await wsClosed;
    expect(await tcpConnects(port)).toBe(false);
    expect(service.stdout()).toContain('"msg":"shutdown complete"');
  });

  it('registers a device over UDP and writes it behind to the devices table', async () => {
    const { port, metricsPort: metrics } = await freeSignalPorts();
    const service = start({ SIGNAL_PORT: String(port), METRICS_PORT: String(metrics) });
    await waitForHealthy(service, metrics);
    const udp = createSocket('udp4');
    await new Promise<void>((done) => udp.bind(0, '127.0.0.1', done));
    const reply = once(udp, 'message');
    const registerPk = {
      id: '812345678',
      uuid: Buffer.from('main-int-spec-machine'),
      pk: Buffer.alloc(32, 8),
      oldId: '',
      noRegisterDevice: false,
    };
    udp.send(encodeRendezvous({ $case: 'registerPk', value: registerPk }), port, '127.0.0.1');
    const [bytes] = (await reply) as [Buffer];
    // RendezvousMessage{register_pk_response{}}: field 16, empty (OK is 0, the default).
    expect(bytes).toEqual(
      encodeRendezvous({
        $case: 'registerPkResponse',
        value: { result: RegisterPkResponse_Result.OK, keepAlive: 0 },
      }),
    );
    udp.close();

    const prisma = createPrismaClient(database.url);
    const devices = new DeviceRepository(prisma);
    try {
      for (let i = 0; i < 100 && (await devices.findAccess('812345678')) === null; i++) {
        await new Promise((done) => setTimeout(done, 100));
      }
      expect(await devices.findAccess('812345678')).toMatchObject({ rustdeskId: '812345678', banned: false });
    } finally {
      await prisma.$disconnect();
    }
    expect((await stop(service)).code).toBe(0);
  });

  it('reuses the key files unchanged on the next start, and `keys` prints the same key', async () => {
    const paths = [join(keyDir, 'id_ed25519'), join(keyDir, 'id_ed25519.pub')];
    const before = await Promise.all(
      paths.map(async (path) => [await readFile(path, 'utf8'), (await stat(path)).mtimeMs]),
    );
    expect(before).toHaveLength(2);

    const { port, metricsPort: metrics } = await freeSignalPorts();
    const service = start({ SIGNAL_PORT: String(port), METRICS_PORT: String(metrics) });
    await waitForHealthy(service, metrics);
    expect((await stop(service)).code).toBe(0);
    const after = await Promise.all(
      paths.map(async (path) => [await readFile(path, 'utf8'), (await stat(path)).mtimeMs]),
    );
    expect(after).toEqual(before);

    const keys = start({}, ['keys']);
    expect((await keys.exited).code).toBe(0);
    expect(keys.stdout()).toBe(`${before[1]?.[0]}\n`);
  });

  it('`keys` creates the files in a fresh directory and prints only the key on stdout', async () => {
    const fresh = join(root, 'fresh-keys');
    const keys = start({ KEY_DIR: fresh, LOG_LEVEL: 'info' }, ['keys']);
    expect((await keys.exited).code).toBe(0);
    expect(keys.stdout()).toBe(`${await readFile(join(fresh, 'id_ed25519.pub'), 'utf8')}\n`);
    expect(keys.stderr()).toContain('created key pair');
  });

  it('exits 78 listing every configuration problem, before touching the key directory', async () => {
    const untouched = join(root, 'never-created');
    const service = start({ SIGNAL_PORT: 'abc', LOG_LEVEL: 'loud', KEY_DIR: untouched });
    expect((await service.exited).code).toBe(78);
    expect(service.stderr()).toContain('SIGNAL_PORT: must be a port number (got "abc")');
    expect(service.stderr()).toMatch(/LOG_LEVEL: must be one of .* \(got "loud"\)/);
    await expect(stat(untouched)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to start on a corrupt key file, saying which file and why, and leaves it alone', async () => {
    const corruptDir = join(root, 'corrupt');
    await mkdir(corruptDir);
    await writeFile(join(corruptDir, 'id_ed25519'), 'this is not a key', { mode: 0o600 });
    const { port, metricsPort: metrics } = await freeSignalPorts();
    const service = start({ SIGNAL_PORT: String(port), METRICS_PORT: String(metrics), KEY_DIR: corruptDir });
    expect((await service.exited).code).toBe(78);
    expect(service.stderr()).toContain(
      `${join(corruptDir, 'id_ed25519')} is unusable: secret key is not valid base64`,
    );
    expect(await readFile(join(corruptDir, 'id_ed25519'), 'utf8')).toBe('this is not a key');
    expect(await tcpConnects(port)).toBe(false);
  });

  it('serves TLS and plain on its TCP ports and wss:// on the WebSocket port once given a certificate', async () => {
    const ca = await ThrowawayCa.create();
    try {
      const { certFile, keyFile } = await ca.issueServer();
      const { port, metricsPort: metrics } = await freeSignalPorts();
      const service = start({
        SIGNAL_PORT: String(port),
        METRICS_PORT: String(metrics),
        TLS_CERT_FILE: certFile,
        TLS_KEY_FILE: keyFile,
      });
      await waitForHealthy(service, metrics);
      expect(service.stdout()).toMatch(/"tcpTls":"dual","wsTls":"dual"/);
      const secured = connectTls({
        host: '127.0.0.1',
        port: port - 1,
        ca: ca.certPem,
        servername: 'localhost',
      });
      await once(secured, 'secureConnect');
      secured.destroy();
      expect(await tcpConnects(port)).toBe(true);
      const wss = new WebSocket(`wss://127.0.0.1:${port + 2}/ws/id`, { ca: ca.certPem });
      await once(wss, 'open');
      wss.close();
      const expiry = await metricValue(metrics, /^switchboard_tls_certificate_expiry_timestamp_seconds /);
      expect(expiry).toBeGreaterThan(Date.now() / 1000);
      expect(
        await metricValue(metrics, /^switchboard_tls_handshakes_total\{.*listener="ws".*result="ok"/),
      ).toBe(1);
      expect((await stop(service)).code).toBe(0);
    } finally {
      await ca.dispose();
    }
  });

  it('exits 78 listing what is wrong with the certificate pair, before opening a port', async () => {
    const ca = await ThrowawayCa.create();
    try {
      const { certFile, keyFile } = await ca.issueServer();
      await chmod(keyFile, 0o644);
      const { port, metricsPort: metrics } = await freeSignalPorts();
      const service = start({
        SIGNAL_PORT: String(port),
        METRICS_PORT: String(metrics),
        TLS_CERT_FILE: certFile,
        TLS_KEY_FILE: keyFile,
        SIGNAL_TLS: 'on',
      });
      expect((await service.exited).code).toBe(78);
      expect(service.stderr()).toContain('signal: cannot start: TLS is not usable');
      expect(service.stderr()).toContain(keyFile);
      expect(await tcpConnects(port)).toBe(false);
    } finally {
      await ca.dispose();
    }
  });

  it('serves without Redis, reporting not ready until it is back', async () => {
    const { port, metricsPort: metrics } = await freeSignalPorts();
    const deadRedis = await ephemeralPort();
    const service = start({
      SIGNAL_PORT: String(port),
      METRICS_PORT: String(metrics),
      REDIS_URL: `redis://127.0.0.1:${deadRedis}`,
    });
    await waitForHealthy(service, metrics);
    expect(await tcpConnects(port)).toBe(true);
    const readiness = await fetch(`http://127.0.0.1:${metrics}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({
      ready: false,
      checks: { redis: { ok: false }, listeners: { ok: true } },
    });
    expect((await stop(service)).code).toBe(0);
  });
});
