import { execFile, spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';

import { Redis } from 'ioredis';

import { RegisterPkResponse_Result } from '@switchboard/protocol';
import { canBind, ephemeralPort, RustDeskPeer } from '@switchboard/testing';

import { nineDigitId } from './support/fleet';

import {
  commandOnPath,
  createScratchCluster,
  type ScratchCluster,
  scratchClusterUnavailable,
} from './support/scratch-postgres-cluster';

// Issue 11: `npm start` (the real scripts/start.sh) on a PostgreSQL set up as Debian/Ubuntu ship it,
// which refuses `postgres` without a password. The quick start must create its own role and database,
// keep their URLs in a 0600 file, serve, print the banner only once everything is ready, stop cleanly
// on SIGTERM, and reuse the file on the next start. Every port is a free one and the state lives in a
// temporary VAR_DIR, so this runs beside the other tests and a developer's own `npm start`.

const ROOT = resolve(__dirname, '../../..');
// A cold build, migrations, argon2 and three services on a busy 2-core machine.
const START_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 60_000;
const BANNER_END = 'Press Ctrl-C to stop.';

const unavailable = scratchClusterUnavailable();
const describeWithCluster = unavailable === undefined ? describe : describe.skip;

describeWithCluster(
  `npm start on a stock PostgreSQL${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    const redisPrefix = `e2e-quick-start-${randomBytes(4).toString('hex')}`;
    let cluster: ScratchCluster | undefined;
    let varDir: string;
    let ports: Ports;
    const running = new Set<QuickStartRun>();

    beforeAll(async () => {
      varDir = await mkdtemp(join(tmpdir(), 'e2e-quick-start-'));
      ports = await freePorts();
      cluster = await createScratchCluster(`sbqs${randomBytes(3).toString('hex')}`, ports.postgres);
    }, 180_000);

    afterAll(async () => {
      for (const run of running) run.kill();
      await cluster?.drop();
      await rm(varDir, { recursive: true, force: true });
      await forgetRedisKeys(redisPrefix);
    }, 180_000);

    it('is a stock cluster: postgres without a password is refused over TCP', async () => {
      const postgres = new URL(`postgresql://postgres@127.0.0.1:${ports.postgres}/postgres`);
      await expect(canLogIn(postgres)).resolves.toBe(false);
    });

    it(
      'creates a role and database of its own, keeps their URLs in a 0600 file, and serves',
      async () => {
        const run = startQuickStart(environment(ports, varDir, redisPrefix));
        running.add(run);
        const banner = await run.banner();

        expect(run.output()).toContain('Creating role switchboard and database switchboard');
        await expectAllReady(ports);

        const file = join(varDir, 'database-url');
        expect((await stat(file)).mode & 0o777).toBe(0o600);
        const urls = parseKeptUrls(await readFile(file, 'utf8'));
        expect(Object.keys(urls).sort()).toEqual(['API_DATABASE_URL', 'DATABASE_URL', 'SIGNAL_DATABASE_URL']);
        const roles = {
          DATABASE_URL: 'switchboard',
          API_DATABASE_URL: 'switchboard_api',
          SIGNAL_DATABASE_URL: 'switchboard_signal',
        };
        for (const [name, url] of Object.entries(urls)) {
          expect({ name, user: url.username, port: url.port, database: url.pathname }).toEqual({
            name,
            user: roles[name as keyof typeof roles],
            port: String(ports.postgres),
            database: '/switchboard',
          });
          expect(url.password.length).toBeGreaterThanOrEqual(20);
          // Each role really has that password (the runtime ones were given theirs by the migrate step).
          await expect(canLogIn(url)).resolves.toBe(true);
        }
        for (const url of Object.values(urls)) expect(run.output()).not.toContain(url.password);

        expect(banner).toContain('admin user        admin');
        expect(banner).toMatch(new RegExp(`ID server +${hostPattern()}:${ports.signal} `));
        expect(banner).toMatch(new RegExp(`relay server +${hostPattern()}:${ports.relay},`));
        expect(banner).not.toContain('API docs');
        // The console `npm start` built is served at `/` and named on localhost, where a browser keeps
        // its Secure session cookies over plain http.
        const root = await fetch(`http://127.0.0.1:${ports.api}/`);
        expect(root.status).toBe(200);
        expect(await root.text()).toContain('<div id="root">');
        expect(banner).toContain(
          `web console       http://localhost:${ports.api}/ (sign in as the admin user)`,
        );

        await expect(run.stop()).resolves.toBe(0);
        running.delete(run);
        expect(run.output()).toMatch(/\[api\] .*shutting down/);
        // Not on a terminal, so the services log JSON lines (LOG_FORMAT auto).
        expect(run.output()).toMatch(/^\[api\] \{"level":30,/m);
        expect(run.output()).toMatch(/^\[relay\] \{"level":30,/m);
      },
      2 * START_TIMEOUT_MS,
    );

    it(
      'reuses the kept settings on the next start',
      async () => {
        const file = join(varDir, 'database-url');
        const kept = await readFile(file, 'utf8');
        const run = startQuickStart({ ...environment(ports, varDir, redisPrefix), API_DOCS_ENABLED: 'true' });
        running.add(run);
        const banner = await run.banner();

        expect(run.output()).toContain(`Using the database settings kept in ${file}`);
        expect(run.output()).not.toContain('Creating role');
        expect(run.output()).toContain('applied 0 migration(s)');
        await expectAllReady(ports);
        expect(await readFile(file, 'utf8')).toBe(kept);
        expect((await stat(file)).mode & 0o777).toBe(0o600);
        expect(banner).toContain(`API docs          http://127.0.0.1:${ports.api}/api/docs`);

        await expect(run.stop()).resolves.toBe(0);
        running.delete(run);
      },
      2 * START_TIMEOUT_MS,
    );

    it(
      'sets the database up again when the kept password is refused',
      async () => {
        const file = join(varDir, 'database-url');
        const stale = (await readFile(file, 'utf8')).replace(
          /^(DATABASE_URL=[^:]+:\/\/[^:]+:)[^@]+@/m,
          '$1stale@',
        );
        await writeFile(file, stale, { mode: 0o600 });
        const run = startQuickStart(environment(ports, varDir, redisPrefix));
        running.add(run);
        await run.banner();

        expect(run.output()).toContain(`The database settings in ${file} are refused`);
        expect(run.output()).toContain('Creating role switchboard and database switchboard');
        await expectAllReady(ports);
        const urls = parseKeptUrls(await readFile(file, 'utf8'));
        expect(urls['DATABASE_URL']?.password).not.toBe('stale');
        await expect(canLogIn(urls['DATABASE_URL']!)).resolves.toBe(true);
        expect((await stat(file)).mode & 0o777).toBe(0o600);

        await expect(run.stop()).resolves.toBe(0);
        running.delete(run);
      },
      2 * START_TIMEOUT_MS,
    );

    // `script` gives start.sh a terminal, as a person running `npm start` has.
    (commandOnPath('script') ? it : it.skip)(
      'on a terminal, has the services log readable lines instead of JSON',
      async () => {
        const run = startQuickStart(environment(ports, varDir, redisPrefix), { onTerminal: true });
        running.add(run);
        await run.banner();

        expect(run.output()).toMatch(/^\[api\] \[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO \(api\): /m);
        expect(run.output()).toMatch(/^\[relay\] \[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO \(relay\): /m);
        expect(run.output()).not.toMatch(/^\[(?:api|signal|relay)\] \{"level"/m);

        await expect(run.stop()).resolves.toBe(0);
        running.delete(run);
      },
      2 * START_TIMEOUT_MS,
    );

    // Issue 14. Needs the services' TLS support (TLS_CERT_FILE in api, signal and relay) to pass.
    it(
      'with TLS=self-signed, makes a certificate, serves the console over HTTPS and keeps plain RustDesk TCP working',
      async () => {
        const run = startQuickStart({ ...environment(ports, varDir, redisPrefix), TLS: 'self-signed' });
        running.add(run);
        const banner = await run.banner();

        const certFile = join(varDir, 'tls', 'server.crt');
        const keyFile = join(varDir, 'tls', 'server.key');
        expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
        expect((await stat(certFile)).mode & 0o777).toBe(0o644);
        const certPem = await readFile(certFile, 'utf8');
        const certificate = new X509Certificate(certPem);
        expect(certificate.checkHost('localhost')).toBe('localhost');
        expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
        expect(run.output()).toContain(`Self-signed certificate: created ${certFile}`);

        // The console over HTTPS, the generated certificate trusted as the only CA.
        const page = await httpsGet(`https://127.0.0.1:${ports.api}/`, certPem);
        expect(page.status).toBe(200);
        expect(page.body).toContain('<div id="root">');
        expect(banner).toContain(
          `web console       https://localhost:${ports.api}/ (sign in as the admin user)`,
        );
        expect(banner).toContain(`TLS certificate   ${certFile} (self-signed)`);
        expect(banner).toContain('dual mode');
        expect(banner).toContain('allow-insecure-tls-fallback=Y');
        for (const port of [ports.apiMetrics, ports.signalMetrics, ports.relayMetrics]) {
          expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
        }

        // A stock client's TCP registration (NaCl key exchange, no TLS) and a TLS one, on the same port.
        const key = await readFile(join(varDir, 'keys', 'id_ed25519.pub'), 'utf8');
        for (const tls of [undefined, { ca: certPem }]) {
          const peer = new RustDeskPeer({
            id: nineDigitId(),
            server: { host: '127.0.0.1', port: ports.signal },
            key,
            transport: 'tcp',
            timeoutMs: 10_000,
            ...(tls ? { tls } : {}),
          });
          try {
            const outcome = await peer.register();
            expect({ tls: tls !== undefined, outcome }).toMatchObject({
              tls: tls !== undefined,
              outcome: { answered: true, result: RegisterPkResponse_Result.OK },
            });
          } finally {
            await peer.stop();
          }
        }

        await expect(run.stop()).resolves.toBe(0);
        running.delete(run);
      },
      2 * START_TIMEOUT_MS,
    );
  },
);

/** GET over HTTPS trusting only `ca` (fetch cannot be given a CA). */
function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const request = httpsRequest(url, { ca, timeout: 10_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolveGet({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer in 10 s`)));
    request.on('error', reject);
    request.end();
  });
}

interface Ports {
  postgres: number;
  api: number;
  apiMetrics: number;
  signal: number;
  signalNat: number;
  signalWs: number;
  signalMetrics: number;
  relay: number;
  relayWs: number;
  relayMetrics: number;
}

/** Ten distinct free ports; signal's main one is free for UDP too. */
async function freePorts(): Promise<Ports> {
  const taken = new Set<number>();
  const next = async (udpToo = false): Promise<number> => {
    for (;;) {
      const port = await ephemeralPort();
      if (taken.has(port) || (udpToo && !(await canBind(port, 'udp')))) continue;
      taken.add(port);
      return port;
    }
  };
  return {
    postgres: await next(),
    api: await next(),
    apiMetrics: await next(),
    signal: await next(true),
    signalNat: await next(),
    signalWs: await next(),
    signalMetrics: await next(),
    relay: await next(),
    relayWs: await next(),
    relayMetrics: await next(),
  };
}

/** A clean environment: nothing of the caller's database or service settings leaks in. */
function environment(ports: Ports, varDir: string, redisPrefix: string): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/root',
    PGPORT: String(ports.postgres),
    VAR_DIR: varDir,
    REDIS_KEY_PREFIX: redisPrefix,
    LOG_LEVEL: 'info',
    API_HOST: '127.0.0.1',
    BIND_HOST: '127.0.0.1',
    API_PORT: String(ports.api),
    API_METRICS_PORT: String(ports.apiMetrics),
    SIGNAL_PORT: String(ports.signal),
    SIGNAL_NAT_PORT: String(ports.signalNat),
    SIGNAL_WS_PORT: String(ports.signalWs),
    SIGNAL_METRICS_PORT: String(ports.signalMetrics),
    RELAY_PORT: String(ports.relay),
    RELAY_WS_PORT: String(ports.relayWs),
    RELAY_METRICS_PORT: String(ports.relayMetrics),
  };
}

interface QuickStartRun {
  /** Everything it printed, terminal control codes removed. */
  output(): string;
  /** The ready banner, once printed; rejects if the script exits or takes too long first. */
  banner(): Promise<string>;
  /** SIGTERM to start.sh, as a service manager would; resolves with its exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL to start.sh and everything it started, for a test that failed half-way. */
  kill(): void;
}

function startQuickStart(env: Record<string, string>, options: { onTerminal?: boolean } = {}): QuickStartRun {
  const [command, args] = options.onTerminal
    ? ['script', ['-qfec', 'exec bash scripts/start.sh', '/dev/null']]
    : ['bash', ['scripts/start.sh']];
  // Its own process group (under `script`, start.sh leads a session of its own), so a failed test can
  // take the services down with it.
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const clean = () => stripVTControlCharacters(output).replaceAll('\r', '');
  // start.sh itself: the child, or under `script` the child's child.
  const startScript = () => (options.onTerminal ? childOf(child.pid) : child.pid);
  const kill = () => {
    for (const pid of new Set([child.pid, startScript()])) killGroup(pid);
  };
  return {
    output: clean,
    banner: async () => {
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (Date.now() < deadline) {
        const text = clean();
        const start = text.indexOf('Switchboard is ready:');
        const end = text.indexOf(BANNER_END, start);
        if (start >= 0 && end >= 0) return text.slice(start, end + BANNER_END.length);
        if (child.exitCode !== null) throw new Error(`start.sh exited with ${child.exitCode}:\n${text}`);
        await new Promise((done) => setTimeout(done, 250));
      }
      throw new Error(`no ready banner after ${START_TIMEOUT_MS} ms:\n${clean()}`);
    },
    stop: async () => {
      const pid = startScript();
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
      const timer = setTimeout(kill, STOP_TIMEOUT_MS);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill,
  };
}

function childOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const [first] = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function expectAllReady(ports: Ports): Promise<void> {
  const urls = [
    `http://127.0.0.1:${ports.api}/readyz`,
    ...[ports.apiMetrics, ports.signalMetrics, ports.relayMetrics].map(
      (port) => `http://127.0.0.1:${port}/readyz`,
    ),
  ];
  for (const url of urls) {
    const response = await fetch(url);
    expect({ url, status: response.status }).toEqual({ url, status: 200 });
  }
}

function parseKeptUrls(text: string): Record<string, URL> {
  const entries = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), new URL(line.slice(at + 1))] as const;
    });
  return Object.fromEntries(entries);
}

/** Whether psql gets in with the URL's credentials (the password in its environment, never prompted). */
async function canLogIn(url: URL): Promise<boolean> {
  const env = {
    PATH: process.env['PATH'] ?? '',
    PGHOST: url.hostname,
    PGPORT: url.port,
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: url.pathname.slice(1),
  };
  try {
    await promisify(execFile)('psql', ['-w', '-X', '-q', '-c', 'SELECT 1'], { env, timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** What clients are told by default: this host's non-loopback address, or loopback on a host without one. */
function hostPattern(): string {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((info) => info !== undefined && info.family === 'IPv4' && !info.internal)
    .map((info) => info!.address);
  const candidates = addresses.length > 0 ? addresses : ['127.0.0.1'];
  return `(?:${candidates.map((address) => address.replaceAll('.', '\\.')).join('|')})`;
}

async function forgetRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 500 }))
      keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.del(...keys);
  } catch {
    // Keys under a random prefix left behind harm nobody.
  } finally {
    redis.disconnect();
  }
}
