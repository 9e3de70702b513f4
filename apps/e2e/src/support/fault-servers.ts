import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';

import { ephemeralPort } from '@switchboard/testing';

import { type ScratchCluster } from './scratch-postgres-cluster';

// Servers a fault test may stop and start: a redis-server of its own (Debian's binary, nothing kept
// on disk, so a restart loses every key as a crashed cache node does) and pg_ctlcluster on a scratch
// PostgreSQL cluster. The shared Redis and Postgres are never touched.

const run = promisify(execFile);
const START_TIMEOUT_MS = 15_000;
const TOOL_TIMEOUT_MS = 60_000;

export interface PrivateRedis {
  readonly port: number;
  /** REDIS_URL for the services. */
  readonly url: string;
  /** SIGKILL: the server dies with everything it held. */
  kill(): Promise<void>;
  /** A fresh, empty server on the same port. */
  start(): Promise<void>;
  /** SIGTERM, for afterAll. */
  stop(): Promise<void>;
  /** What every run of the server printed, for failure messages. */
  output(): string;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await ephemeralPort();
  let output = '';
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();

  const start = async (): Promise<void> => {
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = server;
    exited = once(server, 'exit');
    // This run's output starts here: an earlier run's banner must not count.
    const from = output.length;
    let ready: () => void = () => undefined;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.indexOf('Ready to accept connections', from) !== -1) ready();
    };
    server.stdout?.on('data', collect);
    server.stderr?.on('data', collect);
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis-server not ready:\n${output}`)), START_TIMEOUT_MS);
      void exited.then(() => reject(new Error(`redis-server exited:\n${output}`)));
    });
    try {
      await Promise.race([isReady, failed]);
    } finally {
      clearTimeout(timer);
    }
  };
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(name);
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => signal('SIGKILL'),
    start: async () => {
      output += '\n--- restart ---\n';
      await start();
    },
    stop: () => signal('SIGTERM'),
    output: () => output,
  };
}

/** `pg_ctlcluster stop -m fast`: every backend is terminated, as on a failover or a restart. */
export async function stopCluster(cluster: ScratchCluster): Promise<void> {
  await run('pg_ctlcluster', [cluster.version, cluster.name, 'stop', '-m', 'fast'], {
    timeout: TOOL_TIMEOUT_MS,
  });
}

export async function startCluster(cluster: ScratchCluster): Promise<void> {
  await run('pg_ctlcluster', [cluster.version, cluster.name, 'start'], { timeout: TOOL_TIMEOUT_MS });
}

/** One SQL query as the superuser over TCP (the cluster trusts it), rows as tab-separated lines. */
export async function queryCluster(port: number, database: string, sql: string): Promise<string[]> {
  const { stdout } = await run(
    'psql',
    [
      '-X',
      '-w',
      '-q',
      '-A',
      '-t',
      '-F',
      '\t',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      'postgres',
      '-c',
      sql,
    ],
    { env: { PATH: process.env['PATH'] ?? '', PGDATABASE: database }, timeout: TOOL_TIMEOUT_MS },
  );
  return stdout.split('\n').filter((line) => line !== '');
}
