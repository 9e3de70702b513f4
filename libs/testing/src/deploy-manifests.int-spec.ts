// Static checks for what ships in docker-compose*.yml, deploy/Dockerfile, deploy/k8s, deploy/systemd
// and deploy/observability: there is no container engine or cluster here, so the real tools validate
// what they can offline (`docker-compose config`, `kubectl kustomize`, `yamllint`, `promtool`, the
// Kubernetes API schemas of kubernetes-models) and the rest is asserted on the parsed YAML.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';

import {
  OBSERVABILITY_FILES,
  dashboardExpressions,
  metricNamesInExpression,
  observabilityMetricNames,
} from './observability-metric-names';

const repoRoot = resolve(__dirname, '../../..');
const composeFile = join(repoRoot, 'docker-compose.yml');
const dockerfile = join(repoRoot, 'deploy/Dockerfile');
const k8sDir = join(repoRoot, 'deploy/k8s');
const envExample = join(repoRoot, '.env.example');

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

// A minimal environment, so a developer's exported variables or shell state cannot change what the
// defaults render to.
function run(tool: string, args: string[], cwd: string): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      tool,
      args,
      { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new Error(`${tool} is not installed; these checks need it on the PATH (see deploy/README.md)`),
          );
          return;
        }
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

const PUBLIC_HOST = '203.0.113.10';

/** .env.example with every empty value filled in, as an operator's .env would be. */
function filledEnvExample(): string {
  return readFileSync(envExample, 'utf8')
    .split('\n')
    .map((line) => {
      const empty = /^([A-Z_]+)=$/.exec(line)?.[1];
      if (!empty) return line;
      return `${empty}=${empty === 'PUBLIC_HOST' ? PUBLIC_HOST : `test-${empty.toLowerCase()}`}`;
    })
    .join('\n');
}

// Scratch space for the whole file: env files written here (so a developer's .env cannot change what
// the defaults render to), the deliberately broken compose copies and the kustomize input.
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'switchboard-deploy-'));
  writeFileSync(join(scratch, 'filled.env'), filledEnvExample());
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function composeConfig(dir: string, ...extra: string[]): Promise<CommandResult> {
  const args = ['--env-file', join(scratch, 'filled.env'), '-f', 'docker-compose.yml', 'config', ...extra];
  return run('docker-compose', args, dir);
}

/** Seconds in a compose duration (`300s`, `5m`, `1m30s`). */
function durationSeconds(duration: string | undefined): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
  const parts = [...(duration ?? '').matchAll(/(\d+(?:\.\d+)?)([hms])/g)];
  if (parts.length === 0) throw new Error(`not a duration: ${duration}`);
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * units[unit!]!, 0);
}

// The relay's own allowance after DRAIN_TIMEOUT_SECONDS (closing Redis, the audit queue, the ops
// port) before it exits; read from the code so the deploy files cannot drift from it.
const RELAY_SHUTDOWN_MARGIN_SECONDS =
  Number(
    /const SHUTDOWN_MARGIN_MS = ([\d_]+);/
      .exec(readFileSync(join(repoRoot, 'apps/relay/src/main.ts'), 'utf8'))?.[1]
      ?.replaceAll('_', ''),
  ) / 1000;

// docker-compose 1.29 renders a port bound to one host address as the short string it was written as.
const ComposePort = z.union([
  z.object({
    published: z.number(),
    target: z.number(),
    protocol: z.string(),
    host_ip: z.string().optional(),
  }),
  z.string().transform((text, context) => {
    const match = /^(?<host>[\d.]+):(?<published>\d+):(?<target>\d+)(?:\/(?<protocol>\w+))?$/.exec(text);
    if (!match?.groups) {
      context.addIssue({ code: 'custom', message: `unexpected port ${text}` });
      return z.NEVER;
    }
    const { host, published, target, protocol } = match.groups;
    return {
      published: Number(published),
      target: Number(target),
      protocol: protocol ?? 'tcp',
      host_ip: host,
    };
  }),
]);
const ComposeService = z.object({
  entrypoint: z.union([z.string(), z.array(z.string())]).optional(),
  command: z.union([z.string(), z.array(z.string())]).optional(),
  restart: z.string().optional(),
  environment: z.record(z.string(), z.string().nullable()).default({}),
  ports: z.array(ComposePort).default([]),
  volumes: z.array(z.string()).default([]),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).default({}),
  healthcheck: z.object({ test: z.array(z.string()) }).optional(),
  network_mode: z.string().optional(),
  read_only: z.boolean().optional(),
  cap_drop: z.array(z.string()).default([]),
  security_opt: z.array(z.string()).default([]),
  init: z.boolean().optional(),
  tmpfs: z.union([z.string(), z.array(z.string())]).optional(),
  logging: z.object({ driver: z.string(), options: z.record(z.string(), z.string()).default({}) }).optional(),
  stop_grace_period: z.string().optional(),
  user: z.string().optional(),
});
type ComposeService = z.infer<typeof ComposeService>;
const ComposeConfig = z.object({ services: z.record(z.string(), ComposeService) });

const Probe = z.object({ httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }) });
const Quantities = z.object({ cpu: z.string(), memory: z.string() });
const EnvVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .looseObject({
      secretKeyRef: z
        .object({ name: z.string(), key: z.string(), optional: z.boolean().optional() })
        .optional(),
      configMapKeyRef: z
        .object({ name: z.string(), key: z.string(), optional: z.boolean().optional() })
        .optional(),
    })
    .optional(),
});
const Container = z.object({
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(EnvVar).default([]),
  ports: z
    .array(
      z.object({
        containerPort: z.number(),
        protocol: z.string().default('TCP'),
        name: z.string().optional(),
      }),
    )
    .default([]),
  livenessProbe: Probe.optional(),
  readinessProbe: Probe.optional(),
  resources: z.object({ requests: Quantities, limits: Quantities }),
  securityContext: z.object({
    allowPrivilegeEscalation: z.literal(false),
    readOnlyRootFilesystem: z.literal(true),
    capabilities: z.object({ drop: z.array(z.string()) }),
  }),
  volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })).default([]),
});
type Container = z.infer<typeof Container>;
const PodSpec = z.object({
  terminationGracePeriodSeconds: z.number().optional(),
  securityContext: z.object({ runAsNonRoot: z.literal(true), runAsUser: z.number().positive() }),
  containers: z.array(Container).min(1),
  initContainers: z.array(Container).default([]),
  volumes: z.array(z.looseObject({ name: z.string() })).default([]),
});
const PodTemplate = z.object({
  metadata: z.object({ labels: z.record(z.string(), z.string()) }),
  spec: PodSpec,
});
const Workload = z.object({
  kind: z.enum(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']),
  metadata: z.object({ name: z.string() }),
  spec: z.looseObject({
    template: PodTemplate,
    volumeClaimTemplates: z.array(z.object({ metadata: z.object({ name: z.string() }) })).default([]),
  }),
});
type Workload = z.infer<typeof Workload>;
const Service = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    type: z.string().default('ClusterIP'),
    selector: z.record(z.string(), z.string()),
    ports: z.array(z.object({ port: z.number(), protocol: z.string().default('TCP') })),
  }),
});
const Manifest = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({ name: z.string().min(1), namespace: z.string().optional() }),
  spec: z.unknown().optional(),
  data: z.record(z.string(), z.string()).optional(),
});
type Manifest = z.infer<typeof Manifest>;

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);
const LONG_RUNNING_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

function parseManifests(text: string, origin: string): Manifest[] {
  return parseAllDocuments(text).flatMap((document, index) => {
    expect({ origin, index, errors: document.errors.map((e) => e.message) }).toEqual({
      origin,
      index,
      errors: [],
    });
    const value: unknown = document.toJS();
    return value === null ? [] : [parseAs(Manifest, value, `${origin}, document ${index}`)];
  });
}

// Schema failures name the object, so a broken manifest points at itself.
function parseAs<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new Error(`${where}:\n${z.prettifyError(result.error)}`);
  return result.data;
}

function distPathsIn(text: string): string[] {
  return [...text.matchAll(/dist\/[\w./-]+\.js/g)].map((match) => match[0]);
}

function commandText(service: ComposeService): string {
  return ([] as string[]).concat(service.command ?? []).join(' ');
}

function workloads(manifests: Manifest[]): Workload[] {
  return manifests
    .filter((m) => WORKLOAD_KINDS.has(m.kind))
    .map((m) => parseAs(Workload, m, `${m.kind}/${m.metadata.name}`));
}

function workloadNamed(manifests: Manifest[], kind: string, name: string): Workload {
  const found = workloads(manifests).find((w) => w.kind === kind && w.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name} in deploy/k8s`);
  return found;
}

function envNames(container: Container): string[] {
  return container.env.map((e) => e.name);
}

const ONE_SHOT_SERVICES = ['migrate', 'signal-public-key'];
// Before kustomize copies the image tag into it (kustomization.yaml `replacements`).
const MIGRATE_JOB = 'switchboard-migrate-IMAGE_TAG';

/** The hardening every compose service carries, as `[service, finding]` pairs (empty when all hold). */
function hardeningGaps(services: Record<string, ComposeService>): [string, string][] {
  return Object.entries(services).flatMap(([name, service]) => {
    const gaps: string[] = [];
    if (service.read_only !== true) gaps.push('read_only is not true');
    if (service.cap_drop.join() !== 'ALL') gaps.push('cap_drop is not [ALL]');
    if (!service.security_opt.includes('no-new-privileges:true')) gaps.push('no no-new-privileges');
    if (service.init !== true) gaps.push('init is not true');
    const { driver, options } = service.logging ?? { driver: 'none', options: {} };
    if (driver !== 'json-file' || !options['max-size'] || !options['max-file']) gaps.push('logs not rotated');
    return gaps.map((gap): [string, string] => [name, gap]);
  });
}

/** A relay's stop grace period, less its drain timeout and shutdown margin: must stay positive. */
function relayStopSlack(relay: ComposeService): number {
  const drain = Number(relay.environment.DRAIN_TIMEOUT_SECONDS);
  expect(drain).toBeGreaterThan(0);
  return durationSeconds(relay.stop_grace_period) - drain - RELAY_SHUTDOWN_MARGIN_SECONDS;
}

/** Names in `${NAME:?message}`: values compose refuses to run without. */
function requiredVariables(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{(\w+):\?/g)].map((match) => match[1]!))].sort();
}

/** The user a postgres URL connects as. */
function databaseUser(url: string | null | undefined): string | undefined {
  return url ? decodeURIComponent(new URL(url).username) : undefined;
}

describe('docker-compose.yml', () => {
  let services: Record<string, ComposeService>;

  beforeAll(async () => {
    const rendered = await composeConfig(repoRoot);
    expect(rendered).toMatchObject({ code: 0 });
    services = ComposeConfig.parse(parse(rendered.stdout)).services;
  });

  it('passes `docker-compose config -q`', async () => {
    const result = await composeConfig(repoRoot, '-q');
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('runs the data stores, the one-shot migration and every service with two relays', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'migrate', 'postgres', 'redis', 'relay-1', 'relay-2', 'signal', 'signal-public-key'].sort(),
    );
    expect(commandText(services.api!)).toBe('dist/apps/api/src/main.js');
    expect(commandText(services.signal!)).toBe('dist/apps/signal/src/main.js');
    expect(commandText(services['relay-1']!)).toBe('dist/apps/relay/src/main.js');
    expect(commandText(services['relay-2']!)).toBe('dist/apps/relay/src/main.js');
    // Migrations must finish before the bootstrap reads the schema.
    expect(commandText(services.migrate!)).toMatch(
      /migrations\/cli\.js && node dist\/apps\/api\/src\/bootstrap\/cli\.js/,
    );
  });

  it('health-checks every long-running service and restarts it, but not the one-shot jobs', () => {
    for (const [name, service] of Object.entries(services)) {
      if (ONE_SHOT_SERVICES.includes(name)) {
        expect(service.restart).toBe('no');
        continue;
      }
      expect({ name, restart: service.restart }).toEqual({ name, restart: 'unless-stopped' });
      expect({ name, healthcheck: service.healthcheck?.test[0] }).toEqual({ name, healthcheck: 'CMD' });
    }
    expect(services.postgres!.healthcheck!.test).toContain('pg_isready');
    // The default user is off (deploy/redis/users.acl.template): the check PINGs as its own user.
    expect(services.redis!.healthcheck!.test.slice(1)).toEqual([
      'redis-cli',
      '--user',
      'healthcheck',
      '--pass',
      'unused',
      '--no-auth-warning',
      'ping',
    ]);
  });

  it('runs Redis with the shipped ACL users, and gives each service its own user', () => {
    const redis = services.redis!;
    expect(redis.volumes).toContain(`${join(repoRoot, 'deploy/redis')}:/etc/switchboard-redis:ro`);
    expect(redis.entrypoint).toEqual(['sh', '/etc/switchboard-redis/render-acl.sh']);
    const userOf = (name: string) => new URL(services[name]!.environment.REDIS_URL ?? '').username;
    expect(userOf('api')).toBe('switchboard-api');
    expect(userOf('signal')).toBe('switchboard-signal');
    for (const name of ['relay-1', 'relay-2']) expect(userOf(name)).toBe('switchboard-relay');
    // Each service's password is the one redis renders into that user.
    for (const [name, password] of [
      ['api', 'REDIS_API_PASSWORD'],
      ['signal', 'REDIS_SIGNAL_PASSWORD'],
      ['relay-1', 'REDIS_RELAY_PASSWORD'],
    ] as const) {
      expect(new URL(services[name]!.environment.REDIS_URL ?? '').password).toBe(redis.environment[password]);
    }
  });

  it('hands signal and the relays the event verify key and registry key, never the api key directory', () => {
    const controlDir = '/var/lib/switchboard/control';
    expect(services.migrate!.volumes).toContain(`control-keys:${controlDir}:rw`);
    for (const name of ['signal', 'relay-1', 'relay-2']) {
      const service = services[name]!;
      expect(service.volumes).toContain(`control-keys:${controlDir}:ro`);
      expect(service.volumes.filter((volume) => volume.startsWith('api-secrets:'))).toEqual([]);
      expect(service.environment.EVENTS_PUBLIC_KEY_FILE).toBe(
        services.migrate!.environment.EVENTS_PUBLIC_KEY_FILE,
      );
      expect(service.environment.RELAY_REGISTRY_KEY_FILE).toBe(
        services.migrate!.environment.RELAY_REGISTRY_KEY_FILE,
      );
    }
    expect(services.migrate!.environment.EVENTS_PUBLIC_KEY_FILE).toMatch(new RegExp(`^${controlDir}/`));
  });

  it('probes each app on the port its own environment configures', () => {
    const probedPort: Record<string, string | null | undefined> = {
      api: services.api!.environment.API_PORT,
      signal: services.signal!.environment.METRICS_PORT,
      'relay-1': services['relay-1']!.environment.METRICS_PORT,
      'relay-2': services['relay-2']!.environment.METRICS_PORT,
    };
    for (const [name, port] of Object.entries(probedPort)) {
      expect(port).toMatch(/^\d+$/);
      expect(services[name]!.healthcheck!.test.join(' ')).toContain(`http://127.0.0.1:${port}/readyz`);
    }
  });

  it('keeps every ops port (metrics, readiness detail) on loopback inside its container', () => {
    // The health checks run inside the container; nothing here scrapes, so nothing widens METRICS_HOST.
    for (const [name, service] of Object.entries(services)) {
      expect({ name, METRICS_HOST: service.environment.METRICS_HOST }).toEqual({
        name,
        METRICS_HOST: undefined,
      });
      const opsPort = Number(service.environment.METRICS_PORT);
      expect(service.ports.filter((p) => p.target === opsPort)).toEqual([]);
    }
  });

  it('publishes the RustDesk ports, with no host port used twice', () => {
    const published = (name: string): string[] =>
      services[name]!.ports.map((p) => `${p.published}->${p.target}/${p.protocol}`).sort();
    expect(published('api')).toEqual(['21114->21114/tcp']);
    expect(published('signal')).toEqual(
      ['21115->21115/tcp', '21116->21116/tcp', '21116->21116/udp', '21118->21118/tcp'].sort(),
    );
    expect(published('relay-1')).toEqual(['21117->21117/tcp', '21119->21119/tcp']);
    expect(published('relay-2')).toEqual(['21127->21127/tcp', '21129->21129/tcp']);

    const hostPorts = Object.values(services).flatMap((s) =>
      s.ports.map((p) => `${p.published}/${p.protocol}`),
    );
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('makes each relay announce the host port it is published on (WS on port+2), under its own identity', () => {
    const relays = ['relay-1', 'relay-2'].map((name) => services[name]!);
    for (const relay of relays) {
      const port = Number(relay.environment.RELAY_PORT);
      expect(relay.environment.RELAY_PUBLIC_ADDR).toMatch(new RegExp(`:${port}$`));
      expect(relay.ports.map((p) => p.published).sort()).toEqual([port, port + 2]);
      // The relay holds no database credentials (docs/architecture.md "Services").
      expect(Object.keys(relay.environment).filter((key) => key.startsWith('DATABASE'))).toEqual([]);
    }
    for (const key of ['RELAY_PUBLIC_ADDR', 'RELAY_NODE_ID', 'METRICS_PORT']) {
      expect(new Set(relays.map((r) => r.environment[key])).size).toBe(relays.length);
    }
  });

  it('orders start-up: stores healthy, migrate exited 0, signal (owner of the key pair) before relays', () => {
    const healthy = { condition: 'service_healthy' };
    const completed = { condition: 'service_completed_successfully' };
    expect(services.migrate!.depends_on).toEqual({ postgres: healthy });
    for (const name of ['api', 'signal']) {
      expect(services[name]!.depends_on).toEqual({ postgres: healthy, redis: healthy, migrate: completed });
    }
    // Signal generates the key pair on its first start; its public half is copied before relays start.
    expect(services['signal-public-key']!.depends_on).toEqual({ signal: healthy });
    for (const name of ['relay-1', 'relay-2']) {
      expect(services[name]!.depends_on).toEqual({ redis: healthy, 'signal-public-key': completed });
    }
    for (const service of Object.values(services)) {
      for (const [target, { condition }] of Object.entries(service.depends_on)) {
        if (condition === 'service_healthy') expect(services[target]!.healthcheck).toBeDefined();
      }
    }
  });

  it("keeps signal's key pair and the api's secrets on separate volumes, writable only by their owners", () => {
    const mounts = (name: string): string[] =>
      services[name]!.volumes.filter((v) => v.includes(`:${services[name]!.environment.KEY_DIR}:`));
    expect(mounts('migrate')).toEqual([`api-secrets:${services.migrate!.environment.KEY_DIR}:rw`]);
    expect(mounts('api')).toEqual([`api-secrets:${services.api!.environment.KEY_DIR}:ro`]);
    expect(mounts('signal')).toEqual([`keys:${services.signal!.environment.KEY_DIR}:rw`]);
    for (const name of ['relay-1', 'relay-2']) {
      expect(mounts(name)).toEqual([`signal-public-key:${services[name]!.environment.KEY_DIR}:ro`]);
    }
  });

  it("gives no relay a volume that holds signal's private key, only a copy of the public one", () => {
    const volumeName = (mount: string) => mount.split(':')[0];
    // The volume signal writes its key pair to (id_ed25519 beside id_ed25519.pub): the one at its
    // KEY_DIR. Its other mounts are read-only (the control keys: public and shared ones only).
    const signalKeyDir = `:${services.signal!.environment.KEY_DIR}:`;
    const privateKeyVolumes = services
      .signal!.volumes.filter((v) => v.includes(signalKeyDir))
      .map(volumeName);
    expect(privateKeyVolumes).toEqual(['keys']);
    for (const mount of services.signal!.volumes.filter((v) => !v.includes(signalKeyDir))) {
      expect(mount).toMatch(/:ro$/);
    }
    for (const name of ['relay-1', 'relay-2']) {
      const relayVolumes = services[name]!.volumes.map(volumeName);
      expect({ name, shared: relayVolumes.filter((v) => privateKeyVolumes.includes(v)) }).toEqual({
        name,
        shared: [],
      });
      // hbbr -k `-`: the relay checks clients' key against the .pub in its KEY_DIR.
      expect(services[name]!.environment.KEY).toBe('-');
    }
    // The one container that sees both copies the public file alone, and is not reachable from outside.
    const copier = services['signal-public-key']!;
    expect(copier.ports).toEqual([]);
    expect(commandText(copier)).toMatch(/^cp \S+\/id_ed25519\.pub \S+\/id_ed25519\.pub$/);
    expect(copier.volumes.filter((v) => privateKeyVolumes.includes(volumeName(v)))).toEqual([
      expect.stringMatching(/:ro$/),
    ]);
  });

  it('runs the api and signal under their least-privilege database roles; only migrate is the owner', () => {
    const owner = databaseUser(services.migrate!.environment.DATABASE_URL);
    expect(owner).toBe(databaseUser(`postgresql://${services.postgres!.environment.POSTGRES_USER}@x/`));
    expect(databaseUser(services.api!.environment.DATABASE_URL)).toBe('switchboard_api');
    expect(databaseUser(services.signal!.environment.DATABASE_URL)).toBe('switchboard_signal');
    // migrate sets the runtime roles' passwords from the very URLs the services use.
    expect(services.migrate!.environment.API_DATABASE_URL).toBe(services.api!.environment.DATABASE_URL);
    expect(services.migrate!.environment.SIGNAL_DATABASE_URL).toBe(services.signal!.environment.DATABASE_URL);
  });

  it('hardens every service: read-only root, no capabilities, no-new-privileges, init, rotated logs', () => {
    expect(hardeningGaps(services)).toEqual([]);
    // Postgres and Redis run as their images' users: root without capabilities cannot own their data.
    for (const name of ['postgres', 'redis'])
      expect({ name, user: services[name]!.user }).toEqual({ name, user: '999:999' });
  });

  it('lets each relay drain within its stop grace period, and gives it a licence key', () => {
    for (const name of ['relay-1', 'relay-2']) {
      const relay = services[name]!;
      expect({ name, fits: relayStopSlack(relay) >= 0 }).toEqual({ name, fits: true });
      expect(relay.environment.KEY).toMatch(/\S/);
    }
  });

  it('requires the passwords and the public host, each listed in .env.example', async () => {
    const required = requiredVariables(readFileSync(composeFile, 'utf8'));
    expect(required).toEqual(
      expect.arrayContaining([
        'API_DATABASE_PASSWORD',
        'POSTGRES_PASSWORD',
        'PUBLIC_HOST',
        'REDIS_API_PASSWORD',
        'REDIS_RELAY_PASSWORD',
        'REDIS_SIGNAL_PASSWORD',
        'SIGNAL_DATABASE_PASSWORD',
      ]),
    );
    const example = readFileSync(envExample, 'utf8');
    for (const name of [...required, 'ADMIN_PASSWORD']) expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
    // The example as shipped leaves them empty, so copying it unedited refuses to start.
    const unedited = await run(
      'docker-compose',
      ['--env-file', envExample, '-f', 'docker-compose.yml', 'config', '-q'],
      repoRoot,
    );
    expect(unedited.code).not.toBe(0);
    expect(unedited.stderr).toMatch(/set [A-Z_]+/);
    // An admin password in .env reaches the bootstrap (a bare `ADMIN_PASSWORD:` would not read .env).
    expect(services.migrate!.environment.ADMIN_PASSWORD).toBe('test-admin_password');
    expect(services['relay-1']!.environment.RELAY_PUBLIC_ADDR).toBe(`${PUBLIC_HOST}:21117`);
  });
});

describe('docker-compose.host-network.yml laid over docker-compose.yml', () => {
  const HOST_NETWORK = ['api', 'signal', 'relay-1', 'relay-2'];
  let services: Record<string, ComposeService>;
  let base: Record<string, ComposeService>;

  beforeAll(async () => {
    const args = ['--env-file', join(scratch, 'filled.env'), '-f', 'docker-compose.yml'];
    const rendered = await run(
      'docker-compose',
      [...args, '-f', 'docker-compose.host-network.yml', 'config'],
      repoRoot,
    );
    expect({ code: rendered.code, stderr: rendered.stderr }).toEqual({ code: 0, stderr: '' });
    services = ComposeConfig.parse(parse(rendered.stdout)).services;
    base = ComposeConfig.parse(
      parse((await run('docker-compose', [...args, 'config'], repoRoot)).stdout),
    ).services;
  });

  it('puts the services that see clients on the host network, the data stores on loopback only', () => {
    for (const name of HOST_NETWORK)
      expect({ name, mode: services[name]!.network_mode }).toEqual({ name, mode: 'host' });
    for (const name of ['postgres', 'redis', 'migrate']) expect(services[name]!.network_mode).toBeUndefined();
    const hostIp = (name: string) => services[name]!.ports.map((p) => p.host_ip);
    expect(hostIp('postgres')).toEqual(['127.0.0.1']);
    expect(hostIp('redis')).toEqual(['127.0.0.1']);
    expect(hardeningGaps(services)).toEqual([]);
  });

  it('points them at the loopback ports with the same per-service users and passwords', () => {
    for (const name of HOST_NETWORK) {
      for (const key of ['DATABASE_URL', 'REDIS_URL']) {
        const url = services[name]!.environment[key];
        const before = base[name]!.environment[key];
        if (!url || !before) continue;
        expect({ name, key, host: new URL(url).hostname }).toEqual({ name, key, host: '127.0.0.1' });
        expect(new URL(url).username).toBe(new URL(before).username);
        expect(new URL(url).password).toBe(new URL(before).password);
      }
    }
    expect(services.signal!.environment.API_URL).toBe('http://127.0.0.1:21114');
    expect(services.api!.environment.TRUST_PROXY).toBe('127.0.0.1');
  });
});

describe('docker-compose.relay.yml (a relay on another host)', () => {
  const relayArgs = ['-f', 'docker-compose.relay.yml', 'config'];
  const relayEnv = {
    REDIS_RELAY_PASSWORD: 'test-relay-password',
    MAIN_HOST: '10.8.0.1',
    RELAY_NODE_ID: 'relay-remote-1',
    RELAY_PUBLIC_HOST: '198.51.100.7',
  };
  let relay: ComposeService;
  let names: string[];

  beforeAll(async () => {
    const envText = Object.entries(relayEnv)
      .map(([key, value]) => `${key}=${value}\n`)
      .join('');
    writeFileSync(join(scratch, 'relay.env'), envText);
    const rendered = await run(
      'docker-compose',
      ['--env-file', join(scratch, 'relay.env'), ...relayArgs],
      repoRoot,
    );
    expect({ code: rendered.code, stderr: rendered.stderr }).toEqual({ code: 0, stderr: '' });
    const services = ComposeConfig.parse(parse(rendered.stdout)).services;
    names = Object.keys(services);
    relay = services.relay!;
  });

  it('runs one hardened relay, refusing to render without each of its required values', async () => {
    expect(names).toEqual(['relay']);
    expect(commandText(relay)).toBe('dist/apps/relay/src/main.js');
    expect(hardeningGaps({ relay })).toEqual([]);
    const required = requiredVariables(readFileSync(join(repoRoot, 'docker-compose.relay.yml'), 'utf8'));
    expect(required).toEqual(Object.keys(relayEnv).sort());
    for (const missing of required) {
      const partial = Object.entries(relayEnv).filter(([key]) => key !== missing);
      writeFileSync(
        join(scratch, 'partial.env'),
        partial.map(([key, value]) => `${key}=${value}\n`).join(''),
      );
      const result = await run(
        'docker-compose',
        ['--env-file', join(scratch, 'partial.env'), ...relayArgs, '-q'],
        repoRoot,
      );
      expect({ missing, code: result.code }).toEqual({ missing, code: 1 });
      expect(result.stderr).toContain(`set ${missing}`);
    }
  });

  it("joins the main host's Redis as the relay user, announcing its own address, with no database", () => {
    const redis = new URL(relay.environment.REDIS_URL ?? '');
    expect([redis.username, redis.password, redis.hostname]).toEqual([
      'switchboard-relay',
      relayEnv.REDIS_RELAY_PASSWORD,
      relayEnv.MAIN_HOST,
    ]);
    expect(relay.environment.RELAY_PUBLIC_ADDR).toBe(
      `${relayEnv.RELAY_PUBLIC_HOST}:${relay.environment.RELAY_PORT}`,
    );
    expect(relay.environment.RELAY_NODE_ID).toBe(relayEnv.RELAY_NODE_ID);
    expect(Object.keys(relay.environment).filter((key) => key.startsWith('DATABASE'))).toEqual([]);
    expect(relayStopSlack(relay)).toBeGreaterThanOrEqual(0);
  });

  it("mounts signal's public key and the two control keys as single read-only files, nothing else", () => {
    const targets = relay.volumes.map((volume) => {
      expect(volume).toMatch(/:ro$/);
      return volume.split(':')[1];
    });
    const keyDir = relay.environment.KEY_DIR;
    expect(targets.sort()).toEqual(
      [
        `${keyDir}/id_ed25519.pub`,
        relay.environment.EVENTS_PUBLIC_KEY_FILE,
        relay.environment.RELAY_REGISTRY_KEY_FILE,
      ].sort(),
    );
    // hbbr -k `-`: the public key file in KEY_DIR; signal's id_ed25519 never reaches this host.
    expect(relay.environment.KEY).toBe('-');
    expect(relay.volumes.filter((volume) => /id_ed25519(:|$)/.test(volume))).toEqual([]);
  });
});

describe('deploy YAML passes yamllint', () => {
  it('has no syntax or style errors (long lines allowed: URLs with interpolations cannot wrap)', async () => {
    const config =
      '{extends: default, rules: {line-length: disable, document-start: disable, braces: {max-spaces-inside: 1}}}';
    const files = [
      ...readdirSync(repoRoot).filter((name) => /^docker-compose.*\.yml$/.test(name)),
      'deploy/k8s',
      'deploy/k8s-tls',
      'deploy/observability',
    ];
    const result = await run('yamllint', ['--strict', '-d', config, ...files], repoRoot);
    expect({ code: result.code, out: result.stdout + result.stderr }).toEqual({ code: 0, out: '' });
  });
});

describe('docker-compose.yml check can fail: a broken copy is rejected', () => {
  const original = readFileSync(composeFile, 'utf8');

  it.each([
    [
      'a dependency on an undefined service',
      (t: string) => t.replace('      redis:\n        condition', '      rediss:\n        condition'),
      /rediss.*undefined/,
    ],
    [
      'an unknown depends_on condition',
      (t: string) => t.replaceAll('service_completed_successfully', 'service_finished'),
      /service_finished/,
    ],
    [
      'a misspelt health-check option',
      (t: string) => t.replace('start_period:', 'start_perod:'),
      /start_perod/,
    ],
    ['a malformed port', (t: string) => t.replace("'21116:21116/udp'", "'21116:udp'"), /ports/],
  ])('%s', async (_label, mutate, complaint) => {
    const broken = mutate(original);
    expect(broken).not.toBe(original);
    const dir = mkdtempSync(join(scratch, 'broken-'));
    writeFileSync(join(dir, 'docker-compose.yml'), broken);
    const result = await composeConfig(dir, '-q');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(complaint);
  });
});

describe('deploy/Dockerfile', () => {
  const text = readFileSync(dockerfile, 'utf8');
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const byKeyword = (keyword: string): string[] =>
    instructions
      .filter((line) => line.toUpperCase().startsWith(`${keyword} `))
      .map((line) => line.slice(keyword.length + 1));

  it('builds in stages from a supported Node LTS (22 or later), slim Debian', () => {
    const defaultImage = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
    const [, major, variant] = /^node:(\d+)-(\S+)$/.exec(defaultImage ?? '') ?? [];
    expect(Number(major)).toBeGreaterThanOrEqual(22);
    expect(Number(major) % 2).toBe(0); // odd majors never become LTS
    expect(variant).toBe('bookworm-slim');
    const stages = byKeyword('FROM');
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage).toMatch(/^\$\{NODE_IMAGE\} AS \w+$/);
  });

  it('installs the locked dependencies, builds, then drops dev dependencies', () => {
    const runs = byKeyword('RUN').join('\n');
    const order = ['npm install', 'npm run build', 'npm prune --omit=dev'].map((step) => runs.indexOf(step));
    expect(order.every((position) => position >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // prisma generate (inside the build) needs a schema-engine placeholder.
    expect(byKeyword('ENV').join(' ')).toMatch(/PRISMA_SCHEMA_ENGINE_BINARY=\S+/);
  });

  it('runs as a numeric non-root user, carries OCI labels and no HEALTHCHECK', () => {
    const user = byKeyword('USER').at(-1);
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    const labels = byKeyword('LABEL').join(' ');
    for (const label of ['title', 'description', 'licenses', 'version', 'revision']) {
      expect(labels).toContain(`org.opencontainers.image.${label}=`);
    }
    expect(byKeyword('HEALTHCHECK')).toEqual([]);
    expect(byKeyword('ENTRYPOINT')).toEqual(['["node"]']);
    // The build context has no .git: the revision build arg is what switchboard_build_info reports.
    expect(byKeyword('ENV').join(' ')).toContain('SWITCHBOARD_REVISION=${REVISION}');
  });

  it('has a .dockerignore that keeps local state out of the build context', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', '**/node_modules', 'dist', '.env']) expect(ignored).toContain(entry);
  });
});

describe('deploy/k8s', () => {
  const files = readdirSync(k8sDir).filter((name) => name.endsWith('.yaml'));
  const kustomization = z
    .object({
      resources: z.array(z.string()),
      namespace: z.string(),
      secretGenerator: z.array(z.unknown()).default([]),
    })
    .parse(parse(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')));
  const manifests = files
    .filter((name) => name !== 'kustomization.yaml')
    .flatMap((name) => parseManifests(readFileSync(join(k8sDir, name), 'utf8'), name));

  it('lists every manifest file in kustomization.yaml, and only files that exist', () => {
    expect([...kustomization.resources].sort()).toEqual(
      files.filter((name) => name !== 'kustomization.yaml').sort(),
    );
  });

  it('gives every container probes (long-running ones), limits and a locked-down security context', () => {
    // Parsing with the Workload schema asserts resources, non-root and read-only root fs for each.
    const all = workloads(manifests);
    expect(all.map((w) => `${w.kind}/${w.metadata.name}`).sort()).toEqual(
      ['Deployment/api', 'StatefulSet/relay', `Job/${MIGRATE_JOB}`, 'StatefulSet/signal'].sort(),
    );
    for (const workload of all.filter((w) => LONG_RUNNING_KINDS.has(w.kind))) {
      for (const container of workload.spec.template.spec.containers) {
        const where = `${workload.kind}/${workload.metadata.name}/${container.name}`;
        expect({ where, liveness: container.livenessProbe?.httpGet.path }).toEqual({
          where,
          liveness: '/healthz',
        });
        expect({ where, readiness: container.readinessProbe?.httpGet.path }).toEqual({
          where,
          readiness: '/readyz',
        });
        expect(container.securityContext.capabilities.drop).toContain('ALL');
        const probedPort = container.livenessProbe!.httpGet.port;
        expect(container.ports.some((p) => p.name === probedPort || p.containerPort === probedPort)).toBe(
          true,
        );
      }
    }
  });

  it('listens for probes and scrapes on the pod IP only where a port is named metrics, never behind a LoadBalancer', () => {
    const metricsPorts: number[] = [];
    for (const workload of workloads(manifests).filter((w) => LONG_RUNNING_KINDS.has(w.kind))) {
      for (const container of workload.spec.template.spec.containers) {
        const where = `${workload.metadata.name}/${container.name}`;
        const metrics = container.ports.find((p) => p.name === 'metrics');
        const env = (name: string) => container.env.find((e) => e.name === name)?.value;
        expect({ where, port: env('METRICS_PORT') }).toEqual({ where, port: String(metrics?.containerPort) });
        // The kubelet reaches the pod IP, not its loopback.
        expect({ where, host: env('METRICS_HOST') }).toEqual({ where, host: '0.0.0.0' });
        metricsPorts.push(metrics!.containerPort);
      }
    }
    const balancers = manifests
      .filter((m) => m.kind === 'Service')
      .map((m) => parseAs(Service, m, `Service/${m.metadata.name}`))
      .filter((service) => service.spec.type === 'LoadBalancer');
    for (const service of balancers) {
      expect(service.spec.ports.filter((p) => metricsPorts.includes(p.port))).toEqual([]);
    }
  });

  it('runs signal as one replica with its keys on a persistent volume, exposed by a TCP+UDP LoadBalancer', () => {
    const signal = workloadNamed(manifests, 'StatefulSet', 'signal');
    expect((signal.spec as { replicas?: number }).replicas).toBe(1);
    const container = signal.spec.template.spec.containers[0]!;
    const keyDir = container.env.find((e) => e.name === 'KEY_DIR')?.value;
    const keyMount = container.volumeMounts.find((m) => m.mountPath === keyDir);
    expect(signal.spec.volumeClaimTemplates.map((t) => t.metadata.name)).toContain(keyMount?.name);

    const service = manifests
      .filter((m) => m.kind === 'Service' && m.metadata.name === 'signal')
      .map((m) => parseAs(Service, m, 'Service/signal'))[0];
    expect(service?.spec.type).toBe('LoadBalancer');
    expect(service?.spec.ports.map((p) => `${p.port}/${p.protocol}`).sort()).toEqual(
      ['21115/TCP', '21116/TCP', '21116/UDP', '21118/TCP'].sort(),
    );
  });

  it('scales relays with an autoscaler, limits disruption and leaves time to drain, without database access', () => {
    const relay = workloadNamed(manifests, 'StatefulSet', 'relay');
    expect(relay.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(120);
    const hpa = manifests.find((m) => m.kind === 'HorizontalPodAutoscaler');
    expect(hpa?.spec).toMatchObject({ scaleTargetRef: { kind: 'StatefulSet', name: 'relay' } });
    const pdb = manifests.find((m) => m.kind === 'PodDisruptionBudget' && m.metadata.name === 'relay');
    expect(pdb?.spec).toMatchObject({ selector: { matchLabels: relay.spec.template.metadata.labels } });
    for (const container of relay.spec.template.spec.containers) {
      expect(envNames(container)).toEqual(
        expect.arrayContaining(['REDIS_URL', 'RELAY_PUBLIC_ADDR', 'RELAY_NODE_ID']),
      );
      expect(envNames(container).filter((name) => name.startsWith('DATABASE'))).toEqual([]);
    }
  });

  it('runs the api and signal under their database roles; the migration Job as owner, setting their passwords', () => {
    const databaseUrlKey = (workload: Workload) =>
      workload.spec.template.spec.containers[0]!.env.find((e) => e.name === 'DATABASE_URL')?.valueFrom
        ?.secretKeyRef?.key;
    expect(databaseUrlKey(workloadNamed(manifests, 'Deployment', 'api'))).toBe('API_DATABASE_URL');
    expect(databaseUrlKey(workloadNamed(manifests, 'StatefulSet', 'signal'))).toBe('SIGNAL_DATABASE_URL');
    const job = workloadNamed(manifests, 'Job', MIGRATE_JOB);
    expect(databaseUrlKey(job)).toBe('DATABASE_URL');
    const jobEnv = job.spec.template.spec.containers[0]!.env;
    for (const name of ['API_DATABASE_URL', 'SIGNAL_DATABASE_URL']) {
      expect(jobEnv.find((e) => e.name === name)?.valueFrom?.secretKeyRef?.key).toBe(name);
    }
    const example = readFileSync(join(k8sDir, 'secrets.env.example'), 'utf8');
    expect(databaseUser(/^API_DATABASE_URL=(.+)$/m.exec(example)?.[1])).toBe('switchboard_api');
    expect(databaseUser(/^SIGNAL_DATABASE_URL=(.+)$/m.exec(example)?.[1])).toBe('switchboard_signal');
  });

  it("gives relay pods no volume but scratch space, so none can read signal's private key", () => {
    const relay = workloadNamed(manifests, 'StatefulSet', 'relay');
    for (const volume of relay.spec.template.spec.volumes) {
      expect({ volume: volume.name, kind: Object.keys(volume).filter((k) => k !== 'name') }).toEqual({
        volume: volume.name,
        kind: ['emptyDir'],
      });
    }
    const signal = workloadNamed(manifests, 'StatefulSet', 'signal');
    const signalVolumes = signal.spec.volumeClaimTemplates.map((t) => t.metadata.name);
    for (const container of relay.spec.template.spec.containers) {
      expect(container.volumeMounts.filter((m) => signalVolumes.includes(m.name))).toEqual([]);
    }
  });

  it('gives the api replicas and the migration Job the same api secrets from the Secret', () => {
    const secretKeys = (workload: Workload): string[] =>
      workload.spec.template.spec.containers.flatMap((c) =>
        c.env.flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.key] : [])),
      );
    const apiSecrets = ['JWT_SECRET', 'AUDIT_HMAC_KEYS', 'DATA_ENCRYPTION_KEY'];
    const api = workloadNamed(manifests, 'Deployment', 'api');
    expect((api.spec as { replicas?: number }).replicas).toBeGreaterThan(1);
    expect(secretKeys(api)).toEqual(expect.arrayContaining(apiSecrets));
    expect(secretKeys(workloadNamed(manifests, 'Job', MIGRATE_JOB))).toEqual(
      expect.arrayContaining(apiSecrets),
    );
  });

  it('gives each workload its own Redis user and only its side of the event key', () => {
    const secretOf = (workload: Workload, envName: string): string | undefined =>
      workload.spec.template.spec.containers.flatMap((c) => c.env).find((e) => e.name === envName)?.valueFrom
        ?.secretKeyRef?.key;
    const api = workloadNamed(manifests, 'Deployment', 'api');
    const signal = workloadNamed(manifests, 'StatefulSet', 'signal');
    const relay = workloadNamed(manifests, 'StatefulSet', 'relay');
    expect([api, signal, relay].map((w) => secretOf(w, 'REDIS_URL'))).toEqual([
      'REDIS_URL_API',
      'REDIS_URL_SIGNAL',
      'REDIS_URL_RELAY',
    ]);
    expect(secretOf(api, 'EVENTS_SIGNING_KEY')).toBe('EVENTS_SIGNING_KEY');
    for (const dataPlane of [signal, relay]) {
      expect(secretOf(dataPlane, 'EVENTS_PUBLIC_KEY')).toBe('EVENTS_PUBLIC_KEY');
      expect(secretOf(dataPlane, 'RELAY_REGISTRY_KEY')).toBe('RELAY_REGISTRY_KEY');
      expect(secretOf(dataPlane, 'EVENTS_SIGNING_KEY')).toBeUndefined();
    }
  });

  it('never announces a node address nor uses the host network or host ports', () => {
    for (const name of files) {
      // Comments may explain why these are absent; only the YAML itself counts.
      const text = readFileSync(join(k8sDir, name), 'utf8').replace(/(^|\s)#.*$/gm, '');
      expect({ name, hostIP: text.includes('status.hostIP') }).toEqual({ name, hostIP: false });
      expect({ name, host: /\bhost(Port|Network|IPC|PID)\s*:/.test(text) }).toEqual({ name, host: false });
    }
    // So the namespace can enforce the restricted Pod Security profile.
    const namespace = manifests.find((m) => m.kind === 'Namespace');
    expect(namespace?.metadata).toMatchObject({
      labels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
    });
  });

  it('gives each relay pod a public Service of its own, as many as the autoscaler may run', () => {
    const relay = workloadNamed(manifests, 'StatefulSet', 'relay');
    const hpa = z
      .object({ minReplicas: z.number(), maxReplicas: z.number() })
      .parse(manifests.find((m) => m.kind === 'HorizontalPodAutoscaler')?.spec);
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
    const PerPod = z.object({
      metadata: z.object({ name: z.string() }),
      spec: z.object({
        type: z.literal('LoadBalancer'),
        // Keeps the client's address, which the relay's ticket IP check compares with signal's view.
        externalTrafficPolicy: z.literal('Local'),
        selector: z.record(z.string(), z.string()),
        ports: z.array(z.object({ port: z.number() })),
      }),
    });
    const perPod = manifests
      .filter((m) => m.kind === 'Service' && m.spec !== undefined)
      .filter(
        (m) => 'statefulset.kubernetes.io/pod-name' in ((m.spec as { selector?: object }).selector ?? {}),
      )
      .map((m) => parseAs(PerPod, m, `Service/${m.metadata.name}`));
    expect(
      perPod.map((service) => service.spec.selector['statefulset.kubernetes.io/pod-name']).sort(),
    ).toEqual(Array.from({ length: hpa.maxReplicas }, (_, i) => `relay-${i}`).sort());
    for (const service of perPod) {
      expect(service.spec.selector).toMatchObject(relay.spec.template.metadata.labels);
      expect(service.spec.ports.map((p) => p.port).sort()).toEqual([21117, 21119]);
    }
    // Each pod announces its own name under the public domain, on the port its Service carries.
    const env = relay.spec.template.spec.containers[0]!.env;
    expect(env.find((e) => e.name === 'RELAY_PUBLIC_ADDR')?.value).toBe(
      '$(RELAY_NODE_ID).$(RELAY_PUBLIC_DOMAIN):21117',
    );
    expect(env.find((e) => e.name === 'RELAY_NODE_ID')).toMatchObject({
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
  });

  it('stops relays only after their drain, and the api after its preStop pause, within the grace period', () => {
    const RawLifecycle = z.object({
      template: z.object({
        spec: z.object({
          containers: z.array(
            z.looseObject({
              lifecycle: z
                .object({ preStop: z.object({ exec: z.object({ command: z.array(z.string()) }) }) })
                .optional(),
            }),
          ),
        }),
      }),
    });
    const preStopSeconds = (kind: string, name: string): number => {
      const manifest = manifests.find((m) => m.kind === kind && m.metadata.name === name);
      const command = RawLifecycle.parse(manifest?.spec).template.spec.containers[0]!.lifecycle?.preStop.exec
        .command;
      if (!command) return 0;
      expect(command.slice(0, 1)).toEqual(['sleep']);
      return Number(command[1]);
    };
    const relay = workloadNamed(manifests, 'StatefulSet', 'relay');
    const drain = Number(
      relay.spec.template.spec.containers[0]!.env.find((e) => e.name === 'DRAIN_TIMEOUT_SECONDS')?.value,
    );
    expect(drain).toBeGreaterThan(0);
    expect(relay.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      preStopSeconds('StatefulSet', 'relay') + drain + RELAY_SHUTDOWN_MARGIN_SECONDS,
    );
    const api = workloadNamed(manifests, 'Deployment', 'api');
    const apiPause = preStopSeconds('Deployment', 'api');
    expect(apiPause).toBeGreaterThan(0);
    expect(api.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(apiPause + 10);
  });

  it('limits voluntary disruption of the api and the relays', () => {
    for (const [kind, name] of [
      ['Deployment', 'api'],
      ['StatefulSet', 'relay'],
    ] as const) {
      const pdb = manifests.find((m) => m.kind === 'PodDisruptionBudget' && m.metadata.name === name);
      expect(pdb?.spec).toMatchObject({
        selector: { matchLabels: workloadNamed(manifests, kind, name).spec.template.metadata.labels },
      });
    }
  });

  describe('NetworkPolicies', () => {
    const Peer = z.looseObject({
      podSelector: z.unknown().optional(),
      namespaceSelector: z.unknown().optional(),
    });
    const Rule = z.object({
      ports: z
        .array(z.object({ port: z.number(), protocol: z.string(), endPort: z.number().optional() }))
        .default([]),
      from: z.array(Peer).optional(),
      to: z.array(Peer).optional(),
    });
    const Policy = z.object({
      metadata: z.object({ name: z.string() }),
      spec: z.object({
        podSelector: z.object({ matchLabels: z.record(z.string(), z.string()).optional() }),
        policyTypes: z.array(z.string()),
        ingress: z.array(Rule).default([]),
        egress: z.array(Rule).default([]),
      }),
    });
    const policies = manifests
      .filter((m) => m.kind === 'NetworkPolicy')
      .map((m) => parseAs(Policy, m, `NetworkPolicy/${m.metadata.name}`));
    /** `port/protocol` a pod's own policies let in or out (the namespace-wide ones excluded). */
    const allowed = (app: string, direction: 'ingress' | 'egress'): string[] =>
      policies
        .filter((p) => p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === app)
        .flatMap((p) => p.spec[direction])
        .flatMap((rule) => rule.ports.map((port) => `${port.port}/${port.protocol}`))
        .sort();

    it('deny everything by default, then allow DNS to every pod', () => {
      const everyPod = policies.filter((p) => p.spec.podSelector.matchLabels === undefined);
      const deny = everyPod.find((p) => p.spec.ingress.length === 0 && p.spec.egress.length === 0);
      expect(deny?.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
      expect(everyPod.flatMap((p) => p.spec.egress).flatMap((r) => r.ports.map((x) => x.port))).toEqual([
        53, 53,
      ]);
    });

    it('let in only the RustDesk and ops ports, and out only to what each service uses', () => {
      expect(allowed('api', 'ingress')).toEqual(['21114/TCP', '9114/TCP']);
      expect(allowed('signal', 'ingress')).toEqual([
        '21115/TCP',
        '21116/TCP',
        '21116/UDP',
        '21118/TCP',
        '9116/TCP',
      ]);
      expect(allowed('relay', 'ingress')).toEqual(['21117/TCP', '21119/TCP', '9117/TCP']);
      expect(allowed('switchboard-migrate', 'ingress')).toEqual([]);
      expect(allowed('api', 'egress')).toEqual(['5432/TCP', '6379/TCP']);
      // Signal also sends UDP to clients (punch-hole notices) and calls the api.
      expect(allowed('signal', 'egress')).toEqual(['1/UDP', '21114/TCP', '5432/TCP', '6379/TCP']);
      expect(allowed('relay', 'egress')).toEqual(['6379/TCP']);
      expect(allowed('switchboard-migrate', 'egress')).toEqual(['5432/TCP']);
      // Every workload has a policy of its own.
      for (const workload of workloads(manifests)) {
        const app = workload.spec.template.metadata.labels['app.kubernetes.io/name'] ?? '';
        expect({ app, covered: allowed(app, 'egress').length > 0 }).toEqual({ app, covered: true });
      }
    });
  });

  it('migrates with a Job', () => {
    const job = workloadNamed(manifests, 'Job', MIGRATE_JOB);
    const script = job.spec.template.spec.containers
      .flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])])
      .join(' ');
    expect(script).toMatch(/migrations\/cli\.js && node dist\/apps\/api\/src\/bootstrap\/cli\.js/);
  });

  it('keeps the finished Job and its log (the first admin password) for at least a day', () => {
    const job = workloadNamed(manifests, 'Job', MIGRATE_JOB);
    const ttl = job.spec['ttlSecondsAfterFinished'];
    expect(typeof ttl).toBe('number');
    expect(ttl).toBeGreaterThanOrEqual(24 * 60 * 60);
  });

  describe('rendered with `kubectl kustomize`', () => {
    let rendered: Manifest[];

    beforeAll(async () => {
      // Render a copy with the example credentials, as an operator's first apply would.
      const dir = mkdtempSync(join(scratch, 'k8s-'));
      cpSync(k8sDir, dir, { recursive: true });
      cpSync(join(k8sDir, 'secrets.env.example'), join(dir, 'secrets.env'));
      const result = await run('kubectl', ['kustomize', dir], dir);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      rendered = parseManifests(result.stdout, 'kubectl kustomize');
    });

    it('puts every namespaced object into the namespace', () => {
      for (const manifest of rendered.filter((m) => m.kind !== 'Namespace')) {
        expect({ name: manifest.metadata.name, ns: manifest.metadata.namespace }).toEqual({
          name: manifest.metadata.name,
          ns: kustomization.namespace,
        });
      }
    });

    it('names the migration Job after the image tag, so an upgrade never meets the old immutable one', () => {
      const [job] = workloads(rendered).filter((w) => w.kind === 'Job');
      const tag = /:([^:/]+)$/.exec(job!.spec.template.spec.containers[0]!.image)?.[1];
      expect(tag).toMatch(/\S/);
      expect(job!.metadata.name).toBe(`switchboard-migrate-${tag}`);
    });

    it("asks for each relay pod's DNS name under RELAY_PUBLIC_DOMAIN", () => {
      const config = rendered.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'switchboard-config');
      const domain = config?.data?.['RELAY_PUBLIC_DOMAIN'];
      expect(domain).toMatch(/\./);
      const Annotated = z.object({
        metadata: z.object({ name: z.string(), annotations: z.record(z.string(), z.string()).optional() }),
      });
      const hostnames = rendered
        .filter((m) => m.kind === 'Service')
        .map((m) => Annotated.parse(m).metadata)
        .flatMap((m) => {
          const hostname = m.annotations?.['external-dns.alpha.kubernetes.io/hostname'];
          return hostname ? [[m.name, hostname]] : [];
        });
      expect(hostnames.length).toBeGreaterThanOrEqual(2);
      for (const [name, hostname] of hostnames) expect(hostname).toBe(`${name}.${domain}`);
    });

    it('resolves every Secret and ConfigMap key a container reads (optional ones may be absent)', () => {
      const keysOf = (kind: string, name: string): string[] | undefined => {
        const found = rendered.find((m) => m.kind === kind && m.metadata.name === name);
        return found ? Object.keys(found.data ?? {}) : undefined;
      };
      for (const workload of workloads(rendered)) {
        for (const env of workload.spec.template.spec.containers.flatMap((c) => c.env)) {
          const refs = [
            ['Secret', env.valueFrom?.secretKeyRef],
            ['ConfigMap', env.valueFrom?.configMapKeyRef],
          ] as const;
          for (const [kind, ref] of refs) {
            if (!ref) continue;
            const where = `${workload.metadata.name}: ${env.name} from ${kind} ${ref.name}`;
            expect({ where, exists: keysOf(kind, ref.name) !== undefined }).toEqual({ where, exists: true });
            if (!ref.optional)
              expect({ where, key: keysOf(kind, ref.name) }).toEqual({
                where,
                key: expect.arrayContaining([ref.key]),
              });
          }
        }
      }
    });

    it('points every Service at pods some workload creates', () => {
      // A StatefulSet's pods also carry their own name as a label, which per-pod Services select.
      const podLabels = workloads(rendered).flatMap((w) => {
        const labels = w.spec.template.metadata.labels;
        if (w.kind !== 'StatefulSet') return [labels];
        const replicas = Math.max(
          (w.spec as { replicas?: number }).replicas ?? 1,
          ...rendered
            .filter((m) => m.kind === 'HorizontalPodAutoscaler')
            .map((m) => m.spec as { maxReplicas: number; scaleTargetRef: { name: string } })
            .filter((spec) => spec.scaleTargetRef.name === w.metadata.name)
            .map((spec) => spec.maxReplicas),
        );
        return Array.from({ length: replicas }, (_, i) => ({
          ...labels,
          'statefulset.kubernetes.io/pod-name': `${w.metadata.name}-${i}`,
        }));
      });
      for (const service of rendered
        .filter((m) => m.kind === 'Service')
        .map((m) => parseAs(Service, m, `Service/${m.metadata.name}`))) {
        const matched = podLabels.some((labels) =>
          Object.entries(service.spec.selector).every(([key, value]) => labels[key] === value),
        );
        expect({ service: service.metadata.name, matched }).toEqual({
          service: service.metadata.name,
          matched: true,
        });
      }
    });
  });
});

describe('entry points', () => {
  // Every `dist/...js` the Dockerfile, compose or Kubernetes start must be something the swc build emits,
  // i.e. correspond to a TypeScript source in the repository.
  const sources = [
    readFileSync(dockerfile, 'utf8'),
    readFileSync(composeFile, 'utf8'),
    ...readdirSync(k8sDir)
      .filter((name) => name.endsWith('.yaml'))
      .map((name) => readFileSync(join(k8sDir, name), 'utf8')),
  ];
  const started = [...new Set(sources.flatMap(distPathsIn))].sort();

  it('start only files the build produces', () => {
    const missing = started.filter(
      (path) => !existsSync(join(repoRoot, path.replace(/^dist\//, '').replace(/\.js$/, '.ts'))),
    );
    expect(missing).toEqual([]);
  });

  it('start each of the three services from its main.ts', () => {
    for (const app of ['api', 'signal', 'relay']) {
      expect({ app, source: existsSync(join(repoRoot, `apps/${app}/src/main.ts`)) }).toEqual({
        app,
        source: true,
      });
      expect(started).toContain(`dist/apps/${app}/src/main.js`);
    }
  });
});

// TLS from certificate files (docs/tls.md): the compose override and the Kubernetes component.
const TLS_SERVER_NAME = 'rustdesk.example.com';
const TLS_APP_SERVICES = ['api', 'signal', 'relay-1', 'relay-2'];

describe('docker-compose.observability.yml laid over docker-compose.yml', () => {
  const observabilityArgs = ['-f', 'docker-compose.yml', '-f', 'docker-compose.observability.yml', 'config'];
  const prometheusConfig = 'deploy/observability/prometheus/prometheus.compose.yml';
  let services: Record<string, ComposeService>;

  beforeAll(async () => {
    // .env.example lists GRAFANA_ADMIN_PASSWORD, so the filled copy sets it; this one leaves it out.
    writeFileSync(
      join(scratch, 'no-grafana.env'),
      filledEnvExample().replace(/^GRAFANA_ADMIN_PASSWORD=.*$/m, ''),
    );
    const rendered = await run(
      'docker-compose',
      ['--env-file', join(scratch, 'filled.env'), ...observabilityArgs],
      repoRoot,
    );
    expect({ code: rendered.code, stderr: rendered.stderr }).toEqual({ code: 0, stderr: '' });
    services = ComposeConfig.parse(parse(rendered.stdout)).services;
  });

  it('passes `docker-compose config -q`, and refuses to render without GRAFANA_ADMIN_PASSWORD', async () => {
    const quiet = await run(
      'docker-compose',
      ['--env-file', join(scratch, 'filled.env'), ...observabilityArgs, '-q'],
      repoRoot,
    );
    expect(quiet).toEqual({ code: 0, stdout: '', stderr: '' });
    const unset = await run(
      'docker-compose',
      ['--env-file', join(scratch, 'no-grafana.env'), ...observabilityArgs, '-q'],
      repoRoot,
    );
    expect(unset.code).not.toBe(0);
    expect(unset.stderr).toContain('set GRAFANA_ADMIN_PASSWORD');
  });

  it('hardens Prometheus and Grafana like the rest, and publishes them on loopback only', () => {
    const added = { prometheus: services['prometheus']!, grafana: services['grafana']! };
    expect(hardeningGaps(added)).toEqual([]);
    for (const service of Object.values(added)) {
      expect(service.ports.map((port) => port.host_ip)).toEqual(['127.0.0.1']);
    }
    expect(services['grafana']!.environment).toMatchObject({
      GF_SECURITY_ADMIN_PASSWORD: 'test-grafana_admin_password',
      GF_USERS_ALLOW_SIGN_UP: 'false',
      GF_AUTH_ANONYMOUS_ENABLED: 'false',
    });
  });

  it("scrapes every Switchboard service's ops port under the job name the rules and dashboard expect", () => {
    const config = z
      .object({
        scrape_configs: z.array(
          z.object({
            job_name: z.string(),
            static_configs: z.array(z.object({ targets: z.array(z.string()) })),
          }),
        ),
      })
      .parse(parse(readFileSync(join(repoRoot, prometheusConfig), 'utf8')));
    const scraped = config.scrape_configs.flatMap((job) =>
      job.static_configs.flatMap((group) => group.targets.map((target) => `${job.job_name} ${target}`)),
    );
    const jobOf = (name: string) => (name.startsWith('relay') ? 'relay' : name);
    const expected = Object.entries(services)
      .filter(([name]) => name === 'api' || name === 'signal' || /^relay-\d+$/.test(name))
      .map(([name, service]) => {
        // The ops port must listen beyond the container's loopback for Prometheus to reach it.
        expect({ name, host: service.environment.METRICS_HOST }).toEqual({ name, host: '0.0.0.0' });
        // The api's compose entry keeps its default ops port.
        return `${jobOf(name)} ${name}:${service.environment.METRICS_PORT ?? '9114'}`;
      });
    expect(expected.length).toBeGreaterThanOrEqual(4);
    expect(scraped.sort()).toEqual(expected.sort());
  });

  it('mounts exactly the shipped rules files and dashboard, and promtool accepts the Prometheus config', async () => {
    const mountedSources = (service: ComposeService) =>
      service.volumes.map((volume) => volume.split(':')[0]!).filter((source) => source.startsWith(repoRoot));
    const relative = (path: string) => path.slice(repoRoot.length + 1);
    expect(mountedSources(services['prometheus']!).map(relative).sort()).toEqual(
      [prometheusConfig, ...OBSERVABILITY_FILES.rules].sort(),
    );
    expect(mountedSources(services['grafana']!).map(relative)).toEqual(
      expect.arrayContaining([...OBSERVABILITY_FILES.dashboards]),
    );
    const check = await run('promtool', ['check', 'config', prometheusConfig], repoRoot);
    expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe('docker-compose.tls.yml laid over docker-compose.yml', () => {
  const tlsArgs = ['-f', 'docker-compose.yml', '-f', 'docker-compose.tls.yml', 'config'];
  let services: Record<string, ComposeService>;
  let raw: { services: Record<string, { networks?: Record<string, { aliases?: string[] }> }> };

  beforeAll(async () => {
    writeFileSync(join(scratch, 'tls.env'), `${filledEnvExample()}\nTLS_SERVER_NAME=${TLS_SERVER_NAME}\n`);
    const rendered = await run(
      'docker-compose',
      ['--env-file', join(scratch, 'tls.env'), ...tlsArgs],
      repoRoot,
    );
    expect({ code: rendered.code, stderr: rendered.stderr }).toEqual({ code: 0, stderr: '' });
    services = ComposeConfig.parse(parse(rendered.stdout)).services;
    raw = parse(rendered.stdout) as typeof raw;
  });

  it('passes `docker-compose config -q`, and refuses to render without TLS_SERVER_NAME', async () => {
    const quiet = await run(
      'docker-compose',
      ['--env-file', join(scratch, 'tls.env'), ...tlsArgs, '-q'],
      repoRoot,
    );
    expect(quiet).toEqual({ code: 0, stdout: '', stderr: '' });
    const unnamed = await run(
      'docker-compose',
      ['--env-file', join(scratch, 'filled.env'), ...tlsArgs, '-q'],
      repoRoot,
    );
    expect(unnamed.code).not.toBe(0);
    expect(unnamed.stderr).toContain('set TLS_SERVER_NAME');
  });

  it('gives every service the files from ./tls, mounted read-only as a folder (so a rename-over is seen)', () => {
    for (const name of TLS_APP_SERVICES) {
      const service = services[name]!;
      const certFile = service.environment.TLS_CERT_FILE ?? '';
      const keyFile = service.environment.TLS_KEY_FILE ?? '';
      const mount = service.volumes.find((volume) => volume.startsWith(`${join(repoRoot, 'tls')}:`));
      expect({ name, mount }).toEqual({ name, mount: `${join(repoRoot, 'tls')}:/etc/switchboard/tls:ro` });
      for (const file of [certFile, keyFile]) {
        expect({ name, file }).toEqual({
          name,
          file: expect.stringMatching(/^\/etc\/switchboard\/tls\/[^/]+$/),
        });
      }
      expect(service.environment.TLS_PUBLIC_HOSTS).toBe(TLS_SERVER_NAME);
    }
    // Nothing else is given the certificate, and the key folder stays out of git and the image.
    for (const name of Object.keys(services).filter((n) => !TLS_APP_SERVICES.includes(n))) {
      expect({ name, cert: services[name]!.environment.TLS_CERT_FILE }).toEqual({ name, cert: undefined });
    }
    expect(readFileSync(join(repoRoot, '.gitignore'), 'utf8').split('\n')).toContain('/tls/');
    expect(readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n')).toContain('tls');
  });

  it('serves the api over HTTPS only, health-checked on its plain ops port, and reachable by its name', () => {
    const api = services.api!;
    expect(api.environment.API_TLS).toBe('on');
    expect(api.environment.PUBLIC_URL).toBe(`https://${TLS_SERVER_NAME}:21114`);
    expect(api.healthcheck!.test.join(' ')).toContain(
      `http://127.0.0.1:${api.environment.METRICS_PORT}/readyz`,
    );
    expect(api.ports.map((p) => p.target)).not.toContain(Number(api.environment.METRICS_PORT));
    // Signal dials the api by the certificate's name, which resolves to the api on the compose network.
    expect(raw.services.api?.networks?.default?.aliases).toEqual([TLS_SERVER_NAME]);
    expect(services.signal!.environment.API_URL).toBe(`https://${TLS_SERVER_NAME}:21114`);
  });

  it('runs the RustDesk ports in dual mode, relays announcing the name on their own ports', () => {
    expect(services.signal!.environment).toMatchObject({ SIGNAL_TLS: 'dual', SIGNAL_WS_TLS: 'dual' });
    for (const name of ['relay-1', 'relay-2']) {
      const relay = services[name]!;
      expect(relay.environment).toMatchObject({
        RELAY_TLS: 'dual',
        RELAY_WS_TLS: 'dual',
        RELAY_PUBLIC_ADDR: `${TLS_SERVER_NAME}:${relay.environment.RELAY_PORT}`,
      });
    }
  });
});

describe('deploy/k8s-tls (deploy/k8s with its TLS component)', () => {
  const Volume = z.looseObject({
    name: z.string(),
    secret: z.object({ secretName: z.string(), defaultMode: z.number().optional() }).optional(),
  });
  const Mount = z.looseObject({ name: z.string(), mountPath: z.string(), subPath: z.string().optional() });
  const RawMounts = z.object({
    template: z.object({
      spec: z.object({ containers: z.array(z.object({ volumeMounts: z.array(Mount) })) }),
    }),
  });
  // The Workload schema keeps only what every pod must have; the group is read from the manifest.
  const PodSecurity = z.object({
    template: z.object({ spec: z.object({ securityContext: z.object({ fsGroup: z.number().optional() }) }) }),
  });
  let rendered: Manifest[];
  let base: Manifest[];

  beforeAll(async () => {
    // The overlay and its base keep their relative places, with the example credentials.
    const dir = mkdtempSync(join(scratch, 'k8s-tls-'));
    cpSync(k8sDir, join(dir, 'k8s'), { recursive: true });
    cpSync(join(repoRoot, 'deploy/k8s-tls'), join(dir, 'k8s-tls'), { recursive: true });
    cpSync(join(k8sDir, 'secrets.env.example'), join(dir, 'k8s', 'secrets.env'));
    const result = await run('kubectl', ['kustomize', join(dir, 'k8s-tls')], dir);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    rendered = parseManifests(result.stdout, 'kubectl kustomize deploy/k8s-tls');
    const baseResult = await run('kubectl', ['kustomize', join(dir, 'k8s')], dir);
    base = parseManifests(baseResult.stdout, 'kubectl kustomize deploy/k8s');
  });

  /** The pods that mount the TLS Secret, with the volume, its mount and the container's env. */
  function tlsPods() {
    return workloads(rendered).flatMap((workload) => {
      const { spec } = workload.spec.template;
      const volume = spec.volumes
        .map((v) => Volume.parse(v))
        .find((v) => v.secret?.secretName === 'switchboard-tls');
      if (!volume) return [];
      // The Workload schema drops what only these mounts carry (readOnly, subPath): read the manifest.
      const manifest = rendered.find(
        (m) => m.kind === workload.kind && m.metadata.name === workload.metadata.name,
      );
      const mounts = RawMounts.parse(manifest?.spec).template.spec.containers;
      return spec.containers.map((container, index) => ({
        where: `${workload.kind}/${workload.metadata.name}/${container.name}`,
        workload,
        volume,
        mount: mounts[index]?.volumeMounts.find((m) => m.name === volume.name),
        env: (name: string) => container.env.find((e) => e.name === name),
      }));
    });
  }

  it('mounts the Secret into signal and the relays, owner and group only (0400 or 0440, never 0644)', () => {
    const pods = tlsPods();
    expect([...new Set(pods.map((p) => `${p.workload.kind}/${p.workload.metadata.name}`))].sort()).toEqual([
      'StatefulSet/relay',
      'StatefulSet/signal',
    ]);
    for (const { where, workload, volume, mount } of pods) {
      const mode = volume.secret?.defaultMode;
      expect({ where, mode: mode?.toString(8) }).toEqual({ where, mode: expect.stringMatching(/^4[04]0$/) });
      // Root owns a Secret's files: uid 1000 reads them through the pod's fsGroup.
      const manifest = rendered.find(
        (m) => m.kind === workload.kind && m.metadata.name === workload.metadata.name,
      );
      const { fsGroup } = PodSecurity.parse(manifest?.spec).template.spec.securityContext;
      expect({ where, fsGroup }).toEqual({ where, fsGroup: 1000 });
      // A folder mount (no subPath), so the kubelet's symlink swap on renewal reaches the pod.
      expect({ where, readOnly: mount?.['readOnly'], subPath: mount?.subPath }).toEqual({
        where,
        readOnly: true,
        subPath: undefined,
      });
    }
  });

  it('points every such container at the Secret’s tls.crt and tls.key, with the name clients dial', () => {
    for (const { where, mount, env } of tlsPods()) {
      expect({ where, cert: env('TLS_CERT_FILE')?.value, key: env('TLS_KEY_FILE')?.value }).toEqual({
        where,
        cert: `${mount?.mountPath}/tls.crt`,
        key: `${mount?.mountPath}/tls.key`,
      });
      expect({ where, hosts: env('TLS_PUBLIC_HOSTS')?.valueFrom?.configMapKeyRef?.key }).toEqual({
        where,
        hosts: 'TLS_SERVER_NAME',
      });
    }
    const config = rendered.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'switchboard-config');
    expect(config?.data?.['TLS_SERVER_NAME']).toBe(TLS_SERVER_NAME);
  });

  it('terminates HTTPS for the api at an Ingress with the same Secret and name', () => {
    const ingress = z
      .object({
        spec: z.object({
          tls: z.array(z.object({ hosts: z.array(z.string()), secretName: z.string() })),
          rules: z.array(
            z.object({
              host: z.string(),
              http: z.object({
                paths: z.array(z.object({ backend: z.object({ service: z.object({ name: z.string() }) }) })),
              }),
            }),
          ),
        }),
      })
      .parse(rendered.find((m) => m.kind === 'Ingress' && m.metadata.name === 'api'));
    expect(ingress.spec.tls).toEqual([{ hosts: [TLS_SERVER_NAME], secretName: 'switchboard-tls' }]);
    expect(ingress.spec.rules.map((rule) => rule.host)).toEqual([TLS_SERVER_NAME]);
    expect(ingress.spec.rules[0]!.http.paths.map((p) => p.backend.service.name)).toEqual(['api']);
  });

  it('changes nothing else: the same objects as deploy/k8s, every referenced key resolvable', () => {
    const names = (manifests: Manifest[]) => manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    expect(names(rendered)).toEqual([...names(base), 'Ingress/api'].sort());
    for (const workload of workloads(rendered)) {
      for (const env of workload.spec.template.spec.containers.flatMap((c) => c.env)) {
        const ref = env.valueFrom?.configMapKeyRef ?? env.valueFrom?.secretKeyRef;
        if (!ref || ref.optional) continue;
        const holder = rendered.find((m) => m.metadata.name === ref.name);
        expect({ env: env.name, key: Object.keys(holder?.data ?? {}) }).toEqual({
          env: env.name,
          key: expect.arrayContaining([ref.key]),
        });
      }
    }
    for (const manifest of rendered.filter((m) => m.kind !== 'Namespace')) {
      expect({ name: manifest.metadata.name, ns: manifest.metadata.namespace }).toEqual({
        name: manifest.metadata.name,
        ns: 'switchboard',
      });
    }
  });
});

/**
 * `kubectl kustomize` of deploy/k8s (or deploy/k8s-tls) with the given components, rendered from a
 * copy holding the example credentials, as an operator's overlay would be.
 */
async function renderK8s(base: 'k8s' | 'k8s-tls', components: string[]): Promise<CommandResult> {
  const dir = mkdtempSync(join(scratch, 'k8s-render-'));
  cpSync(k8sDir, join(dir, 'k8s'), { recursive: true });
  cpSync(join(repoRoot, 'deploy/k8s-tls'), join(dir, 'k8s-tls'), { recursive: true });
  cpSync(join(k8sDir, 'secrets.env.example'), join(dir, 'k8s', 'secrets.env'));
  const listed = components.map((name) => `k8s/components/${name}`).join(', ');
  writeFileSync(join(dir, 'kustomization.yaml'), `resources: [${base}]\ncomponents: [${listed}]\n`);
  return run('kubectl', ['kustomize', dir], dir);
}

async function renderedK8s(base: 'k8s' | 'k8s-tls', components: string[]): Promise<Manifest[]> {
  const result = await renderK8s(base, components);
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return parseManifests(result.stdout, `kubectl kustomize ${base} with [${components.join(', ')}]`);
}

const observabilityDir = join(repoRoot, 'deploy/observability');
const rulesDir = join(observabilityDir, 'prometheus');
const RULE_FILES = OBSERVABILITY_FILES.rules.map((file) => join(repoRoot, file));

const AlertRule = z.object({
  alert: z.string(),
  expr: z.string(),
  for: z.string().optional(),
  labels: z.object({ severity: z.enum(['warning', 'critical']) }),
  annotations: z.object({ summary: z.string().min(1), description: z.string().min(1), runbook: z.string() }),
});
const RuleGroups = z.object({
  groups: z.array(z.object({ name: z.string(), rules: z.array(z.looseObject({})) })),
});
const PromtoolTests = z.object({
  rule_files: z.array(z.string()),
  tests: z.array(
    z.looseObject({
      alert_rule_test: z
        .array(z.object({ alertname: z.string(), exp_alerts: z.array(z.unknown()).default([]) }))
        .default([]),
    }),
  ),
});

function ruleGroups(file: string) {
  return RuleGroups.parse(parse(readFileSync(file, 'utf8'))).groups;
}

/** GitHub's anchor for a Markdown heading. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

describe('deploy/observability/prometheus (alert rules)', () => {
  const alerts = RULE_FILES.flatMap((file) =>
    ruleGroups(file).flatMap((group) =>
      group.rules.map((rule) => parseAs(AlertRule, rule, `${file}: ${String(rule['alert'])}`)),
    ),
  );

  it.each(RULE_FILES.map((file) => [file.slice(repoRoot.length + 1), file]))(
    '%s passes `promtool check rules`, and its unit tests pass',
    async (_name, file) => {
      const check = await run('promtool', ['check', 'rules', file], rulesDir);
      expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
      const test = await run(
        'promtool',
        ['test', 'rules', file.replace(/\.rules\.yml$/, '.test.yml')],
        rulesDir,
      );
      expect({ code: test.code, out: test.stdout + test.stderr }).toEqual({
        code: 0,
        out: expect.stringContaining('SUCCESS'),
      });
    },
  );

  it('has the alerts issue 15 asks for, each with a severity, a summary, a description and a runbook', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'SwitchboardAuditChainVerificationFailed',
        'SwitchboardAuditChainVerificationStale',
        'SwitchboardAuditQueueDropping',
        'SwitchboardEventApplyLagHigh',
        'SwitchboardNoRelayTargetUp',
        'SwitchboardRelayNearCapacity',
        'SwitchboardSignalAdmissionNotReady',
        'SwitchboardSignalDeviceWritesFailing',
        'SwitchboardSignalSeesNoRelay',
        'SwitchboardTlsCertificateExpiresSoon',
        'SwitchboardTlsCertificateExpiresVerySoon',
        'SwitchboardTlsCertificateReloadFailed',
      ].sort(),
    );
  });

  it('points every runbook at a section of docs/observability.md', () => {
    const doc = readFileSync(join(repoRoot, 'docs/observability.md'), 'utf8');
    const anchors = [...doc.matchAll(/^#{2,4}\s+(.+)$/gm)].map((match) => headingAnchor(match[1]!));
    for (const { alert, annotations } of alerts) {
      const anchor = /^docs\/observability\.md#([\w-]+)$/.exec(annotations.runbook)?.[1];
      expect({ alert, section: anchor !== undefined && anchors.includes(anchor) }).toEqual({
        alert,
        section: true,
      });
    }
  });

  it('unit-tests every alert both firing and silent', () => {
    const tested = RULE_FILES.flatMap((file) =>
      PromtoolTests.parse(
        parse(readFileSync(file.replace(/\.rules\.yml$/, '.test.yml'), 'utf8')),
      ).tests.flatMap((test) => test.alert_rule_test),
    );
    for (const { alert } of alerts) {
      const cases = tested.filter((t) => t.alertname === alert);
      expect({ alert, fires: cases.some((c) => c.exp_alerts.length > 0) }).toEqual({ alert, fires: true });
      expect({ alert, silent: cases.some((c) => c.exp_alerts.length === 0) }).toEqual({
        alert,
        silent: true,
      });
    }
  });

  it('uses the shared switchboard_tls_* names, not the old per-service ones', () => {
    const tls = readFileSync(join(rulesDir, 'tls-alerts.rules.yml'), 'utf8');
    for (const metric of ['tls_certificate_expiry_timestamp_seconds', 'tls_certificate_reload_failed']) {
      expect(tls).toContain(`switchboard_${metric}`);
    }
    expect(tls).not.toMatch(/__name__|\b(api|signal|relay)_tls_/);
  });
});

describe('deploy/observability/grafana (the fleet dashboard)', () => {
  const file = join(repoRoot, OBSERVABILITY_FILES.dashboards[0]);
  const text = readFileSync(file, 'utf8');
  const Datasource = z.object({ type: z.literal('prometheus'), uid: z.literal('${datasource}') });
  const DashboardPanel = z.object({
    type: z.string(),
    title: z.string().min(1),
    datasource: Datasource.optional(),
    targets: z
      .array(z.looseObject({ datasource: Datasource, expr: z.string().min(1), refId: z.string() }))
      .optional(),
    panels: z.array(z.unknown()).optional(),
  });
  const Dashboard = z.looseObject({
    title: z.string(),
    uid: z.string(),
    schemaVersion: z.number(),
    panels: z.array(z.looseObject({})),
    templating: z.object({
      list: z.array(z.looseObject({ name: z.string(), type: z.string(), query: z.unknown().optional() })),
    }),
  });
  const dashboard = Dashboard.parse(JSON.parse(text));
  const panels = dashboard.panels.flatMap((panel) => {
    const parsed = parseAs(DashboardPanel, panel, `panel ${String(panel['title'])}`);
    return [parsed, ...(parsed.panels ?? []).map((p) => parseAs(DashboardPanel, p, 'nested panel'))];
  });

  it('is a current Grafana dashboard with a Prometheus data source variable and job and instance filters', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const variable = (name: string) => dashboard.templating.list.find((v) => v.name === name);
    expect(variable('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['job', 'instance']) expect(variable(name)).toMatchObject({ type: 'query' });
  });

  it('gives every panel a title, and every panel that queries the data source variable', () => {
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect({ panel: panel.title, datasource: panel.datasource?.uid }).toEqual({
        panel: panel.title,
        datasource: '${datasource}',
      });
      expect({ panel: panel.title, targets: (panel.targets ?? []).length > 0 }).toEqual({
        panel: panel.title,
        targets: true,
      });
    }
  });

  it('covers what an operator runs the fleet from', () => {
    const names = observabilityMetricNames({ dashboards: [text], rules: [] });
    expect(names).toEqual(
      expect.arrayContaining([
        'switchboard_signal_peers_online',
        'switchboard_signal_registrations_total',
        'switchboard_signal_refusals_total',
        'switchboard_relay_sessions_open',
        'switchboard_relay_sessions_capacity',
        'switchboard_signal_relay_picks_total',
        'switchboard_relay_bytes_total',
        'switchboard_events_apply_lag_seconds',
        'switchboard_api_http_request_duration_seconds',
        'switchboard_api_logins_total',
        'switchboard_api_lockouts_total',
        'switchboard_api_dependency_unavailable_total',
        'switchboard_api_audit_chain_verified_ok',
        'switchboard_api_audit_chain_verified_timestamp_seconds',
        'switchboard_nodejs_eventloop_lag_p99_seconds',
        'switchboard_build_info',
      ]),
    );
  });

  it("writes every query in PromQL that promtool's parser accepts", async () => {
    // Grafana's variables are not PromQL: give them values of the right shape first.
    const expressions = dashboardExpressions(text).map((expr) =>
      expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?\w+\}?/g, '.*'),
    );
    expect(expressions.length).toBeGreaterThan(20);
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: expressions.map((expr, index) => ({ record: `dashboard:expr_${index}`, expr })),
        },
      ],
    };
    const ruleFile = join(mkdtempSync(join(scratch, 'dashboard-')), 'dashboard.rules.yml');
    writeFileSync(ruleFile, stringify(rules));
    const check = await run('promtool', ['check', 'rules', ruleFile], scratch);
    expect({ code: check.code, out: check.stdout + check.stderr }).toEqual({
      code: 0,
      out: expect.stringContaining(`SUCCESS: ${expressions.length} rules found`),
    });
  });

  it("writes queries promtool's parser would reject as a failure (the check can fail)", async () => {
    const ruleFile = join(mkdtempSync(join(scratch, 'dashboard-broken-')), 'broken.rules.yml');
    writeFileSync(
      ruleFile,
      stringify({ groups: [{ name: 'g', rules: [{ record: 'r', expr: 'sum by (job (rate(x[5m]))' }] }] }),
    );
    const check = await run('promtool', ['check', 'rules', ruleFile], scratch);
    expect(check.code).not.toBe(0);
  });
});

describe('deploy/k8s/components/monitoring (ServiceMonitors and PrometheusRule)', () => {
  let rendered: Manifest[];
  beforeAll(async () => {
    rendered = await renderedK8s('k8s', ['monitoring']);
  });

  it('scrapes the port named metrics of a Service for each of the three services, in their namespace', () => {
    const ServiceMonitor = z.object({
      metadata: z.object({ name: z.string(), namespace: z.string() }),
      spec: z.object({
        selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
        endpoints: z.array(z.object({ port: z.string() })),
      }),
    });
    const PortNames = z.object({
      metadata: z.looseObject({ labels: z.record(z.string(), z.string()).default({}) }),
      spec: z.object({ ports: z.array(z.object({ name: z.string().optional() })) }),
    });
    const services = rendered
      .filter((m) => m.kind === 'Service')
      .map((m) => ({ namespace: m.metadata.namespace, ...PortNames.parse(m) }));
    const monitors = rendered.filter((m) => m.kind === 'ServiceMonitor').map((m) => ServiceMonitor.parse(m));
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['api', 'relay', 'signal']);
    for (const monitor of monitors) {
      const { name, namespace } = monitor.metadata;
      expect({ name, namespace }).toEqual({ name, namespace: 'switchboard' });
      const scraped = services.filter(
        (service) =>
          service.namespace === namespace &&
          Object.entries(monitor.spec.selector.matchLabels).every(
            ([k, v]) => service.metadata.labels[k] === v,
          ) &&
          monitor.spec.endpoints.every((e) => service.spec.ports.some((p) => p.name === e.port)),
      );
      expect({ name, scraped: scraped.length }).toEqual({ name, scraped: 1 });
    }
  });

  it('names the job after the service, as the alerts expect, and relabels nothing named service', () => {
    const Monitor = z.object({
      metadata: z.object({ name: z.string() }),
      spec: z.looseObject({
        jobLabel: z.string(),
        selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
        endpoints: z.array(z.looseObject({})),
      }),
    });
    for (const monitor of rendered.filter((m) => m.kind === 'ServiceMonitor').map((m) => Monitor.parse(m))) {
      const { name } = monitor.metadata;
      // The Operator sets `job` to the value of this label on the scraped Service.
      expect({ name, job: monitor.spec.selector.matchLabels[monitor.spec.jobLabel] }).toEqual({
        name,
        job: name,
      });
      const relabelling = JSON.stringify(
        monitor.spec.endpoints.map((e) => [e['relabelings'] ?? [], e['metricRelabelings'] ?? []]),
      );
      expect({ name, service: /"service"|\bservice\b/.test(relabelling) }).toEqual({ name, service: false });
    }
    const rules = readFileSync(join(rulesDir, 'switchboard-alerts.rules.yml'), 'utf8');
    expect(rules).toContain('up{job="relay"}');
  });

  it('ships a PrometheusRule whose groups are exactly those of the rules files', () => {
    const rule = rendered.find((m) => m.kind === 'PrometheusRule');
    expect(rule?.metadata).toMatchObject({ namespace: 'switchboard', labels: { release: 'prometheus' } });
    const groups = z.object({ groups: z.array(z.unknown()) }).parse(rule?.spec).groups;
    expect(groups).toEqual(RULE_FILES.flatMap((file) => ruleGroups(file)));
  });

  it('keeps the committed PrometheusRule what scripts/render-prometheus-rule.mjs renders', async () => {
    const result = await run('node', [join(repoRoot, 'scripts/render-prometheus-rule.mjs')], repoRoot);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      readFileSync(join(k8sDir, 'components/monitoring/prometheus-rule.yaml'), 'utf8'),
    );
  });
});

describe('deploy/k8s/components/relay-sessions-hpa', () => {
  const componentDir = join(k8sDir, 'components/relay-sessions-hpa');
  const Hpa = z.object({
    minReplicas: z.number(),
    maxReplicas: z.number(),
    metrics: z.array(
      z.looseObject({
        type: z.string(),
        pods: z
          .object({
            metric: z.object({ name: z.string() }),
            target: z.object({ type: z.literal('AverageValue'), averageValue: z.string() }),
          })
          .optional(),
      }),
    ),
  });
  let rendered: Manifest[];
  beforeAll(async () => {
    rendered = await renderedK8s('k8s', ['monitoring', 'relay-sessions-hpa']);
  });

  it('adds a pods metric of open sessions to the CPU autoscaler, below the 80 % alert', () => {
    const hpa = Hpa.parse(rendered.find((m) => m.kind === 'HorizontalPodAutoscaler')?.spec);
    expect(hpa.metrics.map((m) => m.type)).toEqual(['Resource', 'Pods']);
    const pods = hpa.metrics[1]!.pods!;
    expect(pods.metric.name).toBe('switchboard_relay_sessions_open');
    // RELAY_CAPACITY is left at its default (2000) by deploy/k8s.
    const relay = workloadNamed(rendered, 'StatefulSet', 'relay');
    expect(envNames(relay.spec.template.spec.containers[0]!)).not.toContain('RELAY_CAPACITY');
    expect(Number(pods.target.averageValue) / 2000).toBeLessThan(0.8);
  });

  it('never scales past the per-pod public Services (a pod without one would be unreachable)', () => {
    const hpa = Hpa.parse(rendered.find((m) => m.kind === 'HorizontalPodAutoscaler')?.spec);
    const perPod = rendered.filter(
      (m) =>
        m.kind === 'Service' &&
        'statefulset.kubernetes.io/pod-name' in ((m.spec as { selector?: object }).selector ?? {}),
    );
    expect(hpa.maxReplicas).toBeLessThanOrEqual(perPod.length);
  });

  it('ships the prometheus-adapter rule that serves that metric per pod', () => {
    const snippet = parseManifests(
      readFileSync(join(componentDir, 'prometheus-adapter-rules.yaml'), 'utf8'),
      'prometheus-adapter-rules.yaml',
    )[0]!;
    expect(snippet.kind).toBe('ConfigMap');
    const AdapterConfig = z.object({
      rules: z.array(
        z.object({
          seriesQuery: z.string(),
          resources: z.object({ overrides: z.record(z.string(), z.object({ resource: z.string() })) }),
          name: z.object({ matches: z.string(), as: z.string() }),
          metricsQuery: z.string(),
        }),
      ),
    });
    const [rule] = AdapterConfig.parse(parse(snippet.data?.['config.yaml'] ?? '')).rules;
    expect(rule?.name.as).toBe('switchboard_relay_sessions_open');
    expect(metricNamesInExpression(rule?.seriesQuery ?? '')).toEqual(['switchboard_relay_sessions_open']);
    expect(rule?.resources.overrides).toEqual({
      namespace: { resource: 'namespace' },
      pod: { resource: 'pod' },
    });
    // Not a resource of the component: it belongs to the adapter's own namespace and release.
    const kustomization = readFileSync(join(componentDir, 'kustomization.yaml'), 'utf8');
    expect(kustomization).not.toMatch(/^resources:/m);
  });
});

describe('every rendered Kubernetes manifest passes its API schema (offline, kubernetes-models)', () => {
  const validator = join(repoRoot, 'scripts/validate-k8s-manifests.mjs');

  function validate(manifests: string): Promise<CommandResult> {
    const dir = mkdtempSync(join(scratch, 'validate-'));
    writeFileSync(join(dir, 'rendered.yaml'), manifests);
    // The script reads standard input; a shell redirect keeps `run`'s minimal environment.
    return run('sh', ['-c', `node ${validator} --list < rendered.yaml`], dir);
  }

  it.each([
    ['deploy/k8s', 'k8s', []],
    ['deploy/k8s-tls', 'k8s-tls', []],
    ['deploy/k8s + monitoring', 'k8s', ['monitoring']],
    ['deploy/k8s + monitoring + relay-sessions-hpa', 'k8s', ['monitoring', 'relay-sessions-hpa']],
    ['deploy/k8s-tls + monitoring + relay-sessions-hpa', 'k8s-tls', ['monitoring', 'relay-sessions-hpa']],
  ] as const)('%s', async (_label, base, components) => {
    const render = await renderK8s(base, [...components]);
    expect({ code: render.code, stderr: render.stderr }).toEqual({ code: 0, stderr: '' });
    const result = await validate(render.stdout);
    const problems = result.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('ok '));
    expect({ code: result.code, problems, stderr: result.stderr }).toEqual({
      code: 0,
      problems: [],
      stderr: '',
    });
    const checked = result.stdout.split('\n').filter((line) => line.startsWith('ok ')).length;
    expect(checked).toBe(parseManifests(render.stdout, base).length);
  });

  it('rejects a wrong type, a missing required field and a kind it has no schema for', async () => {
    const result = await validate(
      [
        'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: "21117"}]}',
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec: {template: {spec: {containers: []}}}',
        'apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: c}\nspec: {groups: [{name: g, rules: [{alert: A, expr: up, for: 5 minutes}]}]}',
        'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: d}',
      ].join('\n---\n'),
    );
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^Service\/a .*\/spec\/ports\/0\/port must be integer/),
      expect.stringMatching(/^Deployment\/b .*\/spec must have required property selector/),
      expect.stringMatching(/^PrometheusRule\/c .*\/for must match pattern/),
      'Widget/d (example.com/v1): no schema for this kind',
    ]);
  });
});

// The least-privilege identities (docs/architecture.md "Services"): each service its own Redis user
// and Postgres role, the same in every way Switchboard ships; relays get signal's public key only.
describe('least privilege across compose, Kubernetes and systemd', () => {
  const aclUsers = [
    ...readFileSync(join(repoRoot, 'deploy/redis/users.acl.template'), 'utf8').matchAll(/^user (\S+) on /gm),
  ].map((match) => match[1]);
  const redisUser = (url: string | undefined) =>
    url ? decodeURIComponent(new URL(url).username) : undefined;
  const envFile = (file: string): Record<string, string> =>
    Object.fromEntries(
      readFileSync(join(repoRoot, 'deploy/systemd/env', file), 'utf8')
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => line.split(/=(.*)/s, 2) as [string, string]),
    );

  it('defines one enabled Redis ACL user per service, and the default user off', () => {
    expect(aclUsers).toEqual(
      expect.arrayContaining(['switchboard-api', 'switchboard-signal', 'switchboard-relay']),
    );
    expect(readFileSync(join(repoRoot, 'deploy/redis/users.acl.template'), 'utf8')).toMatch(
      /^user default off /m,
    );
  });

  it('Kubernetes: the example Secret names each service’s own Redis user', () => {
    const example = readFileSync(join(k8sDir, 'secrets.env.example'), 'utf8');
    const url = (key: string) => new RegExp(`^${key}=(.+)$`, 'm').exec(example)?.[1];
    expect(
      ['REDIS_URL_API', 'REDIS_URL_SIGNAL', 'REDIS_URL_RELAY'].map((key) => redisUser(url(key))),
    ).toEqual(['switchboard-api', 'switchboard-signal', 'switchboard-relay']);
  });

  it('systemd: each env file uses its service’s Redis user and database role; relays have neither key nor database', () => {
    const api = envFile('api.env');
    const signal = envFile('signal.env');
    const relay = envFile('relay.env');
    const migrate = envFile('migrate.env');
    expect([api, signal, relay].map((env) => redisUser(env.REDIS_URL))).toEqual([
      'switchboard-api',
      'switchboard-signal',
      'switchboard-relay',
    ]);
    for (const user of [api, signal, relay].map((env) => redisUser(env.REDIS_URL)))
      expect(aclUsers).toContain(user);
    expect(databaseUser(api.DATABASE_URL)).toBe('switchboard_api');
    expect(databaseUser(signal.DATABASE_URL)).toBe('switchboard_signal');
    // migrate owns the schema and sets the runtime roles' passwords from the URLs the services use.
    expect(databaseUser(migrate.DATABASE_URL)).toBe('switchboard');
    expect(databaseUser(migrate.API_DATABASE_URL)).toBe(databaseUser(api.DATABASE_URL));
    expect(databaseUser(migrate.SIGNAL_DATABASE_URL)).toBe(databaseUser(signal.DATABASE_URL));
    // hbbr -k `-`: the relay reads the public key from its KEY_DIR (/var/lib/switchboard/public).
    expect(relay.KEY).toBe('-');
    for (const file of ['relay.env', 'relay-instance.env', 'common.env']) {
      expect({ file, keys: Object.keys(envFile(file)).filter((k) => k.startsWith('DATABASE')) }).toEqual({
        file,
        keys: [],
      });
    }
  });
});
