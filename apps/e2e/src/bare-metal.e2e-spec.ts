import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, copyFile, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import {
  API_DATABASE_ROLE,
  createScratchDatabase,
  type ScratchDatabase,
  SIGNAL_DATABASE_ROLE,
  withDatabaseUser,
} from '@switchboard/data-access';
import { ephemeralPort, freeRelayPorts, freeSignalPorts, testDatabaseAdminUrl } from '@switchboard/testing';

import { stopChild } from './support/stop-child';

// Issue 15 item 4: the bare-metal release. scripts/release.sh stages the release folder (as the
// archive holds it, without packing it; it reuses the dist/ `npm test` built), scripts/install.sh
// from inside it lays it out under a temporary root as it would under /, and the installed tree
// alone, outside the repository so that nothing resolves from its node_modules, migrates and
// bootstraps a fresh database and serves signal, a relay and the api with the key files where the
// units put them. The systemd units are checked directive by directive, and with
// `systemd-analyze verify` where the machine has it (nothing here runs systemd itself).

const execFileAsync = promisify(execFile);
const ROOT = resolve(__dirname, '../../..');
const UNIT_DIR = join(ROOT, 'deploy/systemd');
const ENV_DIR = join(UNIT_DIR, 'env');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

type Unit = Map<string, string[]>;

/** `Key=value` lines of every section, values in file order (a key may repeat, e.g. ExecStart). */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('[')) continue;
    const equals = line.indexOf('=');
    if (equals < 0) throw new Error(`not a directive: ${line}`);
    const key = line.slice(0, equals);
    unit.set(key, [...(unit.get(key) ?? []), line.slice(equals + 1)]);
  }
  return unit;
}

const one = (unit: Unit, key: string): string | undefined => unit.get(key)?.at(-1);
const environment = (unit: Unit): Map<string, string> =>
  new Map((unit.get('Environment') ?? []).map((entry) => entry.split(/=(.*)/s, 2) as [string, string]));

async function readUnit(name: string): Promise<Unit> {
  return parseUnit(await readFile(join(UNIT_DIR, name), 'utf8'));
}

/** systemd time spans as the units write them: `30s`, `5min`, a bare number of seconds. */
function seconds(span: string): number {
  const match = /^(\d+)(s|min)?$/.exec(span);
  if (!match) throw new Error(`unexpected time span ${span}`);
  return Number(match[1]) * (match[2] === 'min' ? 60 : 1);
}

const LONG_RUNNING = ['switchboard-api.service', 'switchboard-signal.service', 'switchboard-relay@.service'];
const ALL_UNITS = ['switchboard-migrate.service', ...LONG_RUNNING];

describe('systemd units (deploy/systemd)', () => {
  it.each(ALL_UNITS)(
    '%s runs sandboxed as a dedicated user with its settings from /etc/switchboard',
    async (name) => {
      const unit = await readUnit(name);
      expect(one(unit, 'User')).toMatch(/^switchboard-(api|signal|relay)$/);
      expect(one(unit, 'Group')).toBe('switchboard');
      for (const [key, value] of [
        ['NoNewPrivileges', 'yes'],
        ['ProtectSystem', 'strict'],
        ['ProtectHome', 'yes'],
        ['PrivateTmp', 'yes'],
        ['PrivateDevices', 'yes'],
        ['CapabilityBoundingSet', ''],
        ['AmbientCapabilities', ''],
        ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
        ['SystemCallFilter', '@system-service'],
        // A call outside the set fails with EPERM rather than killing node (libuv falls back from io_uring).
        ['SystemCallErrorNumber', 'EPERM'],
      ] as const) {
        expect([name, key, one(unit, key)]).toEqual([name, key, value]);
      }
      // V8 writes and then runs machine code: this would kill node at start.
      expect(unit.has('MemoryDenyWriteExecute')).toBe(false);
      expect(unit.get('EnvironmentFile')?.every((file) => file.startsWith('/etc/switchboard/'))).toBe(true);
      for (const command of [...(unit.get('ExecStart') ?? []), ...(unit.get('ExecStartPre') ?? [])]) {
        expect(command).toMatch(/^-?\/(usr\/)?bin\//);
      }
      expect(one(unit, 'WorkingDirectory')).toBe('/opt/switchboard/current');
    },
  );

  it.each(LONG_RUNNING)('%s stops on SIGTERM with time to finish and restarts on failure', async (name) => {
    const unit = await readUnit(name);
    expect(one(unit, 'KillSignal')).toBe('SIGTERM');
    expect(one(unit, 'Restart')).toBe('on-failure');
    expect(seconds(one(unit, 'TimeoutStopSec') ?? '0')).toBeGreaterThanOrEqual(20);
  });

  it('migrate is a oneshot the api requires and waits for', async () => {
    const migrate = await readUnit('switchboard-migrate.service');
    const api = await readUnit('switchboard-api.service');
    expect(one(migrate, 'Type')).toBe('oneshot');
    expect(one(migrate, 'Before')).toContain('switchboard-api.service');
    expect(one(api, 'Requires')).toBe('switchboard-migrate.service');
    expect(one(api, 'After')).toContain('switchboard-migrate.service');
    expect(migrate.get('ExecStart')).toEqual([
      '/usr/bin/node dist/libs/data-access/src/migrations/cli.js',
      '/usr/bin/node dist/apps/api/src/bootstrap/cli.js',
    ]);
    expect(environment(migrate).get('MIGRATIONS_DIR')).toBe('/opt/switchboard/current/prisma/migrations');
  });

  it("keeps signal's secret key in its own state directory and publishes only the public half", async () => {
    const signal = await readUnit('switchboard-signal.service');
    expect(one(signal, 'StateDirectory')).toBe('switchboard/signal');
    expect(one(signal, 'StateDirectoryMode')).toBe('0700');
    expect(environment(signal).get('KEY_DIR')).toBe('/var/lib/switchboard/signal');
    const copies = (signal.get('ExecStartPre') ?? []).filter((command) => command.includes('/bin/cp'));
    expect(copies).toEqual([
      '-/bin/cp -f /var/lib/switchboard/signal/id_ed25519.pub /var/lib/switchboard/public/id_ed25519.pub',
    ]);
    const api = await readUnit('switchboard-api.service');
    expect(environment(api).get('SIGNAL_PUBLIC_KEY_FILE')).toBe('/var/lib/switchboard/public/id_ed25519.pub');
  });

  it('relay@ is a template: node id from the instance, its own env file, a drain that fits the stop timeout', async () => {
    const relay = await readUnit('switchboard-relay@.service');
    const env = environment(relay);
    expect(env.get('RELAY_NODE_ID')).toBe('%i');
    expect(relay.get('EnvironmentFile')).toEqual([
      '/etc/switchboard/common.env',
      '/etc/switchboard/relay.env',
      '/etc/switchboard/relay-%i.env',
    ]);
    const drain = Number(env.get('DRAIN_TIMEOUT_SECONDS'));
    expect(drain).toBeGreaterThanOrEqual(60);
    expect(seconds(one(relay, 'TimeoutStopSec') ?? '0')).toBeGreaterThanOrEqual(drain + 15);
    expect(Number(one(relay, 'LimitNOFILE'))).toBeGreaterThanOrEqual(65_536);
    // Least privilege: the public key directory and the control keys, read-only; nothing of the
    // api's or signal's state is even mounted, and no database credentials anywhere.
    expect(env.get('KEY_DIR')).toBe('/var/lib/switchboard/public');
    expect(one(relay, 'TemporaryFileSystem')).toBe('/var/lib/switchboard');
    expect(one(relay, 'BindReadOnlyPaths')?.split(' ')).toEqual([
      '/var/lib/switchboard/public',
      '/var/lib/switchboard/control',
    ]);
    expect(relay.has('StateDirectory')).toBe(false);
    expect(relay.has('ReadWritePaths')).toBe(false);
    for (const file of ['relay.env', 'relay-instance.env', 'common.env']) {
      expect([file, await readFile(join(ENV_DIR, file), 'utf8')]).not.toEqual([
        file,
        expect.stringMatching(/DATABASE_URL|id_ed25519[^.]/),
      ]);
    }
    const instance = await readFile(join(ENV_DIR, 'relay-instance.env'), 'utf8');
    for (const name of ['RELAY_PUBLIC_ADDR', 'RELAY_PORT', 'RELAY_WS_PORT', 'METRICS_PORT']) {
      expect(instance).toMatch(new RegExp(`^${name}=`, 'm'));
    }
  });

  it('passes systemd-analyze verify', async () => {
    const analyzer = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((path) => existsSync(path));
    if (analyzer === undefined) {
      console.warn('systemd-analyze is not installed: the units were checked by the directive tests only');
      return;
    }
    const { stderr } = await execFileAsync(
      analyzer,
      ['verify', ...ALL_UNITS.map((name) => join(UNIT_DIR, name))],
      {
        cwd: tmpdir(),
      },
    );
    expect(stderr).toBe('');
  });
});

describe('release folder installed into a temporary root', () => {
  let releaseDir: string;
  let installRoot: string;
  let installed: string;
  let database: ScratchDatabase | undefined;

  beforeAll(async () => {
    releaseDir = await mkdtemp(join(tmpdir(), 'e2e-release-'));
    installRoot = await mkdtemp(join(tmpdir(), 'e2e-install-'));
    await execFileAsync('bash', ['scripts/release.sh', '--reuse-build', '--no-archive'], {
      cwd: ROOT,
      env: { ...process.env, RELEASE_DIR: releaseDir },
      maxBuffer: 16 * 1024 * 1024,
    });
    const [staged] = await readdir(releaseDir);
    if (staged === undefined) throw new Error('release.sh staged nothing');
    await execFileAsync('bash', [join(releaseDir, staged, 'scripts/install.sh'), '--root', installRoot], {
      env: { PATH: process.env['PATH'] ?? '' },
      maxBuffer: 16 * 1024 * 1024,
    });
    installed = join(installRoot, 'opt/switchboard/current');
  }, 240_000);

  afterAll(async () => {
    await database?.drop();
    await rm(releaseDir, { recursive: true, force: true });
    await rm(installRoot, { recursive: true, force: true });
  }, 60_000);

  it('lays out the version, the current link, the units, env files only root reads, and the shared registry key', async () => {
    expect(await readlink(join(installRoot, 'opt/switchboard/current'))).toBe(VERSION);
    const [version, commit] = (await readFile(join(installed, 'VERSION'), 'utf8')).trim().split('\n');
    expect(version).toBe(VERSION);
    expect(commit).toMatch(/^([0-9a-f]{40}(-dirty)?|unknown)$/);
    expect(await readFile(join(installed, 'LICENSE'), 'utf8')).toMatch(
      /^GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3/,
    );
    for (const name of ALL_UNITS) {
      expect(existsSync(join(installRoot, 'etc/systemd/system', name))).toBe(true);
    }
    for (const name of ['common', 'migrate', 'api', 'signal', 'relay', 'relay-relay-1']) {
      expect([name, (await stat(join(installRoot, `etc/switchboard/${name}.env`))).mode & 0o777]).toEqual([
        name,
        0o640,
      ]);
    }
    const registryKey = join(installRoot, 'var/lib/switchboard/control/relay_registry.key');
    expect((await stat(registryKey)).mode & 0o777).toBe(0o640);
    expect(Buffer.from((await readFile(registryKey, 'utf8')).trim(), 'base64')).toHaveLength(32);
  });

  it("installs again over itself (an upgrade) keeping the operator's settings and the registry key", async () => {
    const apiEnv = join(installRoot, 'etc/switchboard/api.env');
    const registryKey = join(installRoot, 'var/lib/switchboard/control/relay_registry.key');
    await appendFile(apiEnv, 'API_PORT=8443\n');
    const [settings, key] = [await readFile(apiEnv, 'utf8'), await readFile(registryKey, 'utf8')];
    const [staged = ''] = await readdir(releaseDir);
    const { stdout } = await execFileAsync(
      'bash',
      [join(releaseDir, staged, 'scripts/install.sh'), '--root', installRoot],
      {
        env: { PATH: process.env['PATH'] ?? '' },
      },
    );
    expect(stdout).toContain(`kept ${apiEnv}`);
    expect(await readFile(apiEnv, 'utf8')).toBe(settings);
    expect(await readFile(registryKey, 'utf8')).toBe(key);
    expect(await readdir(join(installRoot, 'opt/switchboard'))).toEqual([VERSION, 'current']);
    // The installed copy refuses to install itself over itself.
    await expect(
      execFileAsync('bash', [join(installed, 'scripts/install.sh'), '--root', installRoot]),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('run me from the unpacked archive') });
  }, 60_000);

  it('ships the services, the console and the migrations, and leaves dev-only things out', () => {
    for (const path of [
      'dist/apps/api/src/main.js',
      'dist/apps/signal/src/main.js',
      'dist/apps/relay/src/main.js',
      'dist/apps/web/index.html',
      'dist/libs/data-access/src/generated/prisma/client.js',
      'prisma/migrations/migration_lock.toml',
      'scripts/install.sh',
      'deploy/systemd/switchboard-relay@.service',
      'docs/bare-metal.md',
      'node_modules/@prisma/client',
      'node_modules/argon2',
    ]) {
      expect([path, existsSync(join(installed, path))]).toEqual([path, true]);
    }
    for (const path of [
      'dist/apps/e2e',
      'dist/bench',
      'dist/libs/testing',
      'node_modules/typescript',
      'node_modules/prisma',
      'node_modules/jest',
      'node_modules/@swc/core',
      'node_modules/nx',
      '.npmrc',
    ]) {
      expect([path, existsSync(join(installed, path))]).toEqual([path, false]);
    }
  });

  it('runs migrate and bootstrap, then signal, a relay and the api from the installed tree, keys laid out as the units lay them', async () => {
    database = await createScratchDatabase(testDatabaseAdminUrl(), 'sb_test_');
    const state = join(installRoot, 'var/lib/switchboard');
    // What every unit sets: the control keys in control/, signal's public key in public/.
    const common = {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'production',
      LOG_FORMAT: 'json',
      REDIS_KEY_PREFIX: `e2e-bare-metal-${randomUUID()}`,
      EVENTS_PUBLIC_KEY_FILE: join(state, 'control/events_ed25519.pub'),
      RELAY_REGISTRY_KEY_FILE: join(state, 'control/relay_registry.key'),
    };

    // switchboard-migrate: the shipped migrations, then the bootstrap.
    const migrateEnv = {
      ...common,
      DATABASE_URL: database.url,
      KEY_DIR: join(state, 'api'),
      MIGRATIONS_DIR: join(installed, 'prisma/migrations'),
      ADMIN_USERNAME: 'admin',
    };
    const migrated = await execFileAsync(process.execPath, ['dist/libs/data-access/src/migrations/cli.js'], {
      cwd: installed,
      env: migrateEnv,
    });
    expect(migrated.stdout).toMatch(/applied \d+ migration\(s\)/);
    const bootstrapped = await execFileAsync(process.execPath, ['dist/apps/api/src/bootstrap/cli.js'], {
      cwd: installed,
      env: migrateEnv,
    });
    const password = /password: (\S+)/.exec(bootstrapped.stdout)?.[1];
    expect(password).toBeDefined();
    // The bootstrap kept the registry key install.sh made (group-readable) rather than writing its own.
    expect((await stat(join(state, 'control/relay_registry.key'))).mode & 0o777).toBe(0o640);
    expect(existsSync(join(state, 'control/events_ed25519.pub'))).toBe(true);

    // switchboard-signal: `keys` first, then the public half is published.
    const signalDir = join(state, 'signal');
    const signalPorts = await freeSignalPorts();
    const signalEnv = {
      ...common,
      BIND_HOST: '127.0.0.1',
      SIGNAL_PORT: String(signalPorts.port),
      METRICS_PORT: String(signalPorts.metricsPort),
      KEY_DIR: signalDir,
      DATABASE_URL: withDatabaseUser(database.url, SIGNAL_DATABASE_ROLE),
    };
    const key = await execFileAsync(process.execPath, ['dist/apps/signal/src/main.js', 'keys'], {
      cwd: installed,
      env: signalEnv,
    });
    expect((await stat(join(signalDir, 'id_ed25519'))).mode & 0o777).toBe(0o600);
    await copyFile(join(signalDir, 'id_ed25519.pub'), join(state, 'public/id_ed25519.pub'));
    expect(key.stdout.trim()).toBe((await readFile(join(state, 'public/id_ed25519.pub'), 'utf8')).trim());

    const { port: relayPort, metricsPort: relayMetricsPort } = await freeRelayPorts();
    const [apiPort, apiMetricsPort] = [await ephemeralPort(), await ephemeralPort()];
    const services = [
      await startInstalled(installed, 'signal', signalEnv, signalPorts.metricsPort),
      // switchboard-relay@relay-1: signal's public key only, strict tickets on (the default).
      await startInstalled(
        installed,
        'relay',
        {
          ...common,
          BIND_HOST: '127.0.0.1',
          RELAY_NODE_ID: 'relay-1',
          RELAY_PORT: String(relayPort),
          RELAY_PUBLIC_ADDR: `127.0.0.1:${relayPort}`,
          METRICS_PORT: String(relayMetricsPort),
          KEY_DIR: join(state, 'public'),
          KEY: '-',
        },
        relayMetricsPort,
      ),
      await startInstalled(
        installed,
        'api',
        {
          ...common,
          API_HOST: '127.0.0.1',
          API_PORT: String(apiPort),
          METRICS_PORT: String(apiMetricsPort),
          KEY_DIR: join(state, 'api'),
          SIGNAL_PUBLIC_KEY_FILE: join(state, 'public/id_ed25519.pub'),
          DATABASE_URL: withDatabaseUser(database.url, API_DATABASE_ROLE),
        },
        apiMetricsPort,
      ),
    ];
    try {
      // The console is in the archive, and a sign-in runs argon2 from the shipped node_modules.
      expect(await (await fetch(`http://127.0.0.1:${apiPort}/`)).text()).toMatch(/^<!doctype html>/i);
      const token = await fetch(`http://127.0.0.1:${apiPort}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
      expect(token.status).toBe(200);
    } finally {
      const stopped = await Promise.all(services.map((service) => service.stop()));
      expect(stopped).toEqual(services.map(({ name }) => ({ name, code: 0, output: expect.any(String) })));
    }
  }, 120_000);
});

interface InstalledService {
  readonly name: string;
  stop(): Promise<{ name: string; code: number | null; output: string }>;
}

/** `node dist/apps/<name>/src/main.js` in the installed tree, once its /healthz answers 200. */
async function startInstalled(
  installed: string,
  name: 'api' | 'signal' | 'relay',
  env: Record<string, string>,
  metricsPort: number,
): Promise<InstalledService> {
  const child = spawn(process.execPath, [`dist/apps/${name}/src/main.js`], {
    cwd: installed,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null }));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const healthy = await fetch(`http://127.0.0.1:${metricsPort}/healthz`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (healthy) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} from the installed tree did not become healthy:\n${output}`);
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  return {
    name,
    stop: async () => ({ name, code: (await stopChild(child, exited, 15_000)).code, output }),
  };
}
