import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { EventSigningKey } from '@switchboard/events';
import { RelayRecordKey } from '@switchboard/relay-registry';

import { listenLocal, portOf } from './endpoints';

// The processes whose forwarding is measured: the real relay (compiled by swc, as deployments run
// it), Debian's socat, and a bare Node forwarder (bare-forwarder.ts). All are children of the bench,
// stopped by pid when it ends.

const ROOT = resolve(__dirname, '../..');
const BUILD_DIR = 'var/bench/relay-build';
const COMPILED_MAIN = `${BUILD_DIR}/apps/relay/src/main.js`;
const START_TIMEOUT_MS = 30_000;

export interface Forwarder {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

export interface RelayOptions {
  redisUrl: string;
  redisKeyPrefix: string;
  maxConnectionsPerIp: number;
  /** Strict mode (tickets required); the throughput and session parts run hbbr's compatibility mode. */
  strict?: boolean;
  /** Strict mode: a directory holding the id_ed25519.pub whose secret half signs the bench's tickets. */
  signalKeyDir?: string;
  /** Extra node flags for the relay process, e.g. `--cpu-prof` (BENCH_RELAY_NODE_ARGS). */
  nodeArgs?: readonly string[];
  /** More settings for the relay, e.g. TLS_CERT_FILE and RELAY_TLS (bench/relay-tls-throughput.bench.ts). */
  env?: Readonly<Record<string, string>>;
}

/** Compiles apps/relay and libs into var/bench/relay-build; returns the seconds it took. */
export function buildRelay(): number {
  const started = performance.now();
  execFileSync(
    'npx',
    [
      '--no-install',
      'swc',
      'apps/relay',
      'libs',
      '-d',
      BUILD_DIR,
      '--ignore',
      '**/*.spec.ts,**/*.int-spec.ts,**/*.e2e-spec.ts',
      '--quiet',
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  return (performance.now() - started) / 1000;
}

export async function startRelay(options: RelayOptions): Promise<Forwarder & { metricsPort: number }> {
  const [port, metricsPort, wsPort] = await freePorts(3);
  if (port === undefined || metricsPort === undefined || wsPort === undefined)
    throw new Error('no free ports');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), COMPILED_MAIN], {
    cwd: ROOT,
    env: {
      BIND_HOST: '127.0.0.1',
      RELAY_PORT: String(port),
      RELAY_WS_PORT: String(wsPort),
      METRICS_PORT: String(metricsPort),
      RELAY_PUBLIC_ADDR: `127.0.0.1:${port}`,
      RELAY_NODE_ID: `bench-${process.pid}`,
      REDIS_URL: options.redisUrl,
      REDIS_KEY_PREFIX: options.redisKeyPrefix,
      // Nobody publishes events in the bench: any verify key will do; the registry key is its own.
      EVENTS_PUBLIC_KEY: EventSigningKey.generate().verifyKey.toBase64(),
      RELAY_REGISTRY_KEY: RelayRecordKey.generate().toBase64(),
      LOG_LEVEL: 'warn',
      // hbbr compatibility mode unless asked: any uuid pairs, so no signal has to issue tickets.
      RELAY_STRICT: options.strict === true ? 'true' : 'false',
      // No licence check (the bench's clients send none); the key directory still verifies tickets.
      KEY: 'none',
      KEY_DIR: options.signalKeyDir ?? resolve(ROOT, 'var/bench/no-keys'),
      // Mbit/s: far above loopback speed, so nothing here is throttled.
      TOTAL_BANDWIDTH: '1000000',
      SINGLE_BANDWIDTH: '1000000',
      RELAY_MAX_CONNECTIONS_PER_IP: String(options.maxConnectionsPerIp),
      RELAY_CAPACITY: '100000',
      DRAIN_TIMEOUT_SECONDS: '2',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`relay exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`relay not ready after ${START_TIMEOUT_MS} ms:\n${output}`);
    }
    const status = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  return { pid: childPid(child), port, metricsPort, stop: () => stopChild(child, 'SIGTERM') };
}

/**
 * `socat -b 65536 TCP-LISTEN:<p>,reuseaddr,fork TCP:127.0.0.1:<q>`, ready once <p> is listening.
 * `tls`: OpenSSL on both legs instead (`OPENSSL-LISTEN:<p>,…,cert=…,key=…,verify=0 OPENSSL:…,verify=0`).
 */
export async function startSocat(
  upstreamPort: number,
  tls?: { certFile: string; keyFile: string },
): Promise<Forwarder> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  const legs = tls
    ? [
        `OPENSSL-LISTEN:${port},reuseaddr,fork,cert=${tls.certFile},key=${tls.keyFile},verify=0`,
        `OPENSSL:127.0.0.1:${upstreamPort},verify=0`,
      ]
    : [`TCP-LISTEN:${port},reuseaddr,fork`, `TCP:127.0.0.1:${upstreamPort}`];
  const child = spawn('socat', ['-b', '65536', ...legs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + START_TIMEOUT_MS;
  // Polling with a connection would make socat fork and dial upstream; watch the listen table instead.
  while (!isListening(port)) {
    if (child.exitCode !== null) throw new Error(`socat exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('socat is not listening');
    await new Promise((done) => setTimeout(done, 20));
  }
  return { pid: childPid(child), port, stop: () => stopChild(child, 'SIGTERM') };
}

/** bare-forwarder.ts in a child process of its own, ready once it reported its port. */
export async function startBareForwarder(): Promise<Forwarder> {
  const child = fork(resolve(__dirname, 'bare-forwarder.ts'), [], {
    cwd: ROOT,
    execArgv: ['-r', '@swc-node/register'],
  });
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`bare forwarder exited with ${String(code)}`);
    }),
  ])) as [{ port: number }];
  return { pid: childPid(child), port: message.port, stop: () => stopChild(child, 'SIGTERM') };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat fields 14 and 15. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** All CPUs' time in jiffies, and the share of it the hypervisor gave to other guests (/proc/stat "steal"). */
export function hostCpuTimes(): { total: number; steal: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9);
  const jiffies = fields.map(Number);
  return { total: jiffies.reduce((sum, value) => sum + value, 0), steal: jiffies[7] ?? NaN };
}

/** Resident and peak resident memory in bytes, from /proc/<pid>/status. */
export function residentMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') * 1024, peak: kib('VmHWM') * 1024 };
}

function isListening(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((table) =>
    readFileSync(table, 'utf8')
      .split('\n')
      .some((line) => {
        const [, local, , state] = line.trim().split(/\s+/);
        return local?.endsWith(`:${hexPort}`) === true && state === '0A';
      }),
  );
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => listenLocal(() => undefined)));
  const ports = servers.map(portOf);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

function childPid(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error('child process did not start');
  return child.pid;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}
