import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { SIGNAL_DATABASE_ROLE, withDatabaseUser } from '@switchboard/data-access';
import { freeSignalPorts } from '@switchboard/testing';

import { dataPlaneControlKeyEnv } from './control-keys';
import { stopChild } from './stop-child';

// The real signal process for end-to-end tests, started as a deployment starts it (TypeScript
// through swc), on free ports of its own, with a key directory of its own, bound to 127.0.0.1 so
// peers on 127.0.0.2 look like another network. It connects to Postgres under its least-privilege
// role, so every flow here proves that role's grants suffice.

const ROOT = resolve(__dirname, '../../../..');
const MAIN = 'apps/signal/src/main.ts';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export interface SignalProcess {
  readonly host: string;
  /** SIGNAL_PORT: UDP and TCP; NAT test on port − 1, WebSocket on port + 2. */
  readonly port: number;
  readonly metricsPort: number;
  readonly keyDir: string;
  /** The Key: the text of id_ed25519.pub as the process wrote it. */
  readonly publicKeyFile: string;
  /** Everything the process printed so far, for failure messages. */
  output(): string;
  stop(): Promise<{ code: number | null }>;
}

export interface SignalProcessOptions {
  /**
   * A compiled main.js (swc output, as deployments run it) instead of the TypeScript source; the
   * benchmark uses it so that no TypeScript hook sits in the measured process.
   */
  compiledMain?: string;
  /** Extra node flags, e.g. `--inspect=127.0.0.1:0` so a test can trigger GC from outside. */
  nodeArgs?: readonly string[];
}

export async function startSignal(
  env: Record<string, string>,
  options: SignalProcessOptions = {},
): Promise<SignalProcess> {
  const keyDir = await mkdtemp(join(tmpdir(), 'e2e-signal-keys-'));
  const { port, metricsPort } = await freeSignalPorts();
  const entry =
    options.compiledMain === undefined ? ['-r', '@swc-node/register', MAIN] : [options.compiledMain];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entry], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      BIND_HOST: '127.0.0.1',
      SIGNAL_PORT: String(port),
      METRICS_PORT: String(metricsPort),
      KEY_DIR: keyDir,
      LOG_LEVEL: 'info',
      ...dataPlaneControlKeyEnv(),
      ...env,
      ...(env['DATABASE_URL'] === undefined
        ? {}
        : { DATABASE_URL: withDatabaseUser(env['DATABASE_URL'], SIGNAL_DATABASE_ROLE) }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null }));
  try {
    await waitForHealthy(child, metricsPort, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    await rm(keyDir, { recursive: true, force: true });
    throw error;
  }
  const publicKeyFile = await readFile(join(keyDir, 'id_ed25519.pub'), 'utf8');
  return {
    host: '127.0.0.1',
    port,
    metricsPort,
    keyDir,
    publicKeyFile,
    output: () => output,
    stop: async () => {
      const result = await stopChild(child, exited, STOP_TIMEOUT_MS);
      await rm(keyDir, { recursive: true, force: true });
      return result;
    },
  };
}

async function waitForHealthy(child: ChildProcess, metricsPort: number, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`signal exited with ${child.exitCode}:\n${output()}`);
    try {
      // The ops server starts only once every listener is bound.
      if ((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`signal not healthy after ${START_TIMEOUT_MS} ms:\n${output()}`);
}
