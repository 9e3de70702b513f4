import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

import { freeRelayPorts } from '@switchboard/testing';

import { dataPlaneControlKeyEnv } from './control-keys';
import { stopChild } from './stop-child';

// The real relay process for end-to-end tests, started as a deployment starts it (TypeScript through
// swc), on free ports of its own, bound to 127.0.0.1, announcing 127.0.0.1:<port> as its public
// address so the addresses signal hands out are dialable.

const ROOT = resolve(__dirname, '../../../..');
const MAIN = 'apps/relay/src/main.ts';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

export interface RelayProcess {
  readonly nodeId: string;
  /** RELAY_PORT; WebSocket on port + 2. */
  readonly port: number;
  readonly metricsPort: number;
  /** What signal hands to clients: RELAY_PUBLIC_ADDR. */
  readonly address: string;
  /** Everything the process printed so far, for failure messages. */
  output(): string;
  /** Polls /readyz until 200: listening and in sync with the event stream (so announced). */
  whenReady(): Promise<void>;
  /** One sample from /metrics, summed over the series matching `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Sends SIGTERM (drain) and resolves with the exit code. */
  stop(): Promise<{ code: number | null }>;
  /** SIGKILL: the node dies without leaving the registry, as on a host crash. */
  kill(): Promise<{ code: number | null }>;
  readonly exited: Promise<{ code: number | null }>;
}

export async function startRelay(nodeId: string, env: Record<string, string>): Promise<RelayProcess> {
  const { port, metricsPort } = await freeRelayPorts();
  const address = `127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['-r', '@swc-node/register', MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      BIND_HOST: '127.0.0.1',
      RELAY_PORT: String(port),
      METRICS_PORT: String(metricsPort),
      RELAY_PUBLIC_ADDR: address,
      RELAY_NODE_ID: nodeId,
      LOG_LEVEL: 'info',
      ...dataPlaneControlKeyEnv(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null }));
  try {
    await poll(child, metricsPort, '/healthz', () => output);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    nodeId,
    port,
    metricsPort,
    address,
    exited,
    output: () => output,
    whenReady: () => poll(child, metricsPort, '/readyz', () => output),
    metric: async (name, labels = {}) => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return sumSeries(text, name, labels);
    },
    stop: () => stopChild(child, exited, STOP_TIMEOUT_MS),
    kill: () => {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

async function poll(
  child: ChildProcess,
  metricsPort: number,
  path: string,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`relay exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${metricsPort}${path}`)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`relay ${path} not 200 after ${START_TIMEOUT_MS} ms:\n${output()}`);
}

/** Prometheus text format: `name{a="x",b="y"} value` lines. */
function sumSeries(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const series = new Map<string, string>();
    for (const [, key = '', value = ''] of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g))
      series.set(key, value);
    if (Object.entries(labels).every(([key, value]) => series.get(key) === value)) sum += Number(match[3]);
  }
  return sum;
}
