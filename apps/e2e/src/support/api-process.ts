import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { API_DATABASE_ROLE, withDatabaseUser } from '@switchboard/data-access';
import { ephemeralPort } from '@switchboard/testing';

import { apiControlKeyEnv } from './control-keys';
import { stopChild } from './stop-child';

// The real api process for end-to-end tests, prepared as `npm start` prepares it: the bootstrap CLI
// creates the secrets file and a first admin (with a chosen password, so no forced change), then
// main.ts serves on a free port of its own. Operators act through its HTTP API only. The bootstrap
// runs as the database owner (as the migrate service does), the api under its least-privilege role,
// so every flow here proves that role's grants suffice.

const ROOT = resolve(__dirname, '../../../..');
const MAIN = 'apps/api/src/main.ts';
const BOOTSTRAP = 'apps/api/src/bootstrap/cli.ts';
const START_TIMEOUT_MS = 45_000;
const STOP_TIMEOUT_MS = 15_000;
export const E2E_ADMIN_USERNAME = 'e2e-admin';

export interface ApiProcess {
  readonly baseUrl: string;
  /** The ops port's base URL (/metrics, /healthz, /readyz). */
  readonly opsUrl: string;
  readonly adminPassword: string;
  /** A bearer access token of the first admin, from the api's own token endpoint. */
  adminToken(): Promise<string>;
  output(): string;
  stop(): Promise<{ code: number | null }>;
}

export async function startApi(env: Record<string, string>): Promise<ApiProcess> {
  const keyDir = await mkdtemp(join(tmpdir(), 'e2e-api-keys-'));
  const port = await ephemeralPort();
  // The ops port must be free too: its default (9114) would collide between parallel runs.
  const metricsPort = await ephemeralPort();
  const adminPassword = randomBytes(18).toString('base64url');
  const baseEnv = {
    PATH: process.env['PATH'] ?? '',
    KEY_DIR: keyDir,
    LOG_LEVEL: 'info',
    ...apiControlKeyEnv(),
    ...env,
  };

  const bootstrap = await run(BOOTSTRAP, {
    ...baseEnv,
    ADMIN_USERNAME: E2E_ADMIN_USERNAME,
    ADMIN_PASSWORD: adminPassword,
  });
  if (bootstrap.code !== 0)
    throw new Error(`api bootstrap exited with ${bootstrap.code}:\n${bootstrap.output}`);

  const child = spawn(process.execPath, ['-r', '@swc-node/register', MAIN], {
    cwd: ROOT,
    env: {
      ...baseEnv,
      ...(env['DATABASE_URL'] === undefined
        ? {}
        : { DATABASE_URL: withDatabaseUser(env['DATABASE_URL'], API_DATABASE_ROLE) }),
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null }));
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForReady(child, baseUrl, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    await rm(keyDir, { recursive: true, force: true });
    throw error;
  }

  return {
    baseUrl,
    opsUrl: `http://127.0.0.1:${metricsPort}`,
    adminPassword,
    adminToken: async () => {
      const response = await fetch(`${baseUrl}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: E2E_ADMIN_USERNAME, password: adminPassword }),
      });
      const body = (await response.json()) as { accessToken?: string };
      if (response.status !== 200 || body.accessToken === undefined) {
        throw new Error(`admin token: ${response.status} ${JSON.stringify(body)}`);
      }
      return body.accessToken;
    },
    output: () => output,
    stop: async () => {
      const result = await stopChild(child, exited, STOP_TIMEOUT_MS);
      await rm(keyDir, { recursive: true, force: true });
      return result;
    },
  };
}

function run(entry: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', entry], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return once(child, 'exit').then(([code]) => ({ code: code as number | null, output }));
}

async function waitForReady(child: ChildProcess, baseUrl: string, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`api exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(`${baseUrl}/readyz`)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`api not ready after ${START_TIMEOUT_MS} ms:\n${output()}`);
}
