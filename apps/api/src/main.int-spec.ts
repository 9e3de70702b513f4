import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TcpProxy } from '@switchboard/test-net';
import { createTestDatabase, ephemeralPort, type TestDatabase } from '@switchboard/testing';

import { runTs } from '../test/api-test-harness';

// The api as its container runs it: a real process, real port, real database, real signals.
jest.setTimeout(60_000);

const MAIN = 'apps/api/src/main.ts';

async function waitForHealthy(url: string, deadlineMs: number): Promise<Response> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return response;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('api process', () => {
  let database: TestDatabase;
  let workDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    workDir = await mkdtemp(join(tmpdir(), 'sb-api-'));
  });

  afterAll(async () => {
    await database?.drop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('starts with no secrets configured, serves /healthz and /readyz, and exits 0 promptly on SIGTERM', async () => {
    const port = await ephemeralPort();
    const metricsPort = await ephemeralPort();
    const keyDir = join(workDir, 'keys');
    const api = runTs(MAIN, {
      API_PORT: String(port),
      // Every interface for the operator API; the ops endpoints stay on 127.0.0.1 (METRICS_HOST unset).
      API_HOST: '0.0.0.0',
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: database.url,
      KEY_DIR: keyDir,
      LOG_LEVEL: 'info',
    });
    try {
      const health = await waitForHealthy(`http://127.0.0.1:${port}/healthz`, 45_000);
      expect(await health.json()).toEqual({ status: 'ok' });
      // The operator port says ready or not, and serves neither metrics nor docs.
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/api/docs/json`)).status).toBe(404);
      // The ops port has the detail and the metrics, on loopback only.
      const ops = await waitForHealthy(`http://127.0.0.1:${metricsPort}/readyz`, 10_000);
      expect(await ops.json()).toMatchObject({
        ready: true,
        checks: { postgres: { ok: true }, redis: { ok: true } },
      });
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^switchboard_process_cpu_user_seconds_total \d/m);
      // The operator port's own requests (the probes above) are measured there.
      expect(metrics).toMatch(
        /^switchboard_api_http_request_duration_seconds_count\{method="GET",route="\/readyz",status="200"\} 1$/m,
      );
      for (const name of [
        'switchboard_api_logins_total{surface="client",result="ok"}',
        'switchboard_api_lockouts_total{surface="console"}',
        'switchboard_api_dependency_unavailable_total{dependency="postgres"}',
        'switchboard_api_audit_chain_verified_ok',
        'switchboard_api_audit_chain_verified_timestamp_seconds',
        'switchboard_api_audit_chain_verify_duration_seconds',
        'switchboard_api_audit_chain_entries',
      ]) {
        expect(metrics.split('\n').some((line) => line.startsWith(`${name} `))).toBe(true);
      }
      expect((await fetch(`http://127.0.0.2:${port}/healthz`)).status).toBe(200);
      await expect(fetch(`http://127.0.0.2:${metricsPort}/metrics`)).rejects.toThrow();
      // The one-machine start generated its secrets file.
      expect((await stat(join(keyDir, 'api-secrets.json'))).mode & 0o777).toBe(0o600);

      const signalledAt = Date.now();
      api.child.kill('SIGTERM');
      const { code, signal } = await api.exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalledAt).toBeLessThan(3_000);
      const logs = api.stdout();
      expect(logs).toContain('"msg":"api listening"');
      expect(logs).toContain('"msg":"shutting down"');
      expect(api.stderr()).toBe('');
    } finally {
      api.child.kill('SIGKILL');
    }
  });

  it('exits 0 on SIGTERM while its Redis is down, without waiting for SHUTDOWN_TIMEOUT_MS', async () => {
    // A rolling restart during a Redis outage: the audit queue worker's close waits on the dead
    // connection, and BullMQ's close(true) hands back that same pending close, so the api used to sit
    // out the whole timeout and exit 1. Its connections are now cut after a few seconds.
    const redis = await TcpProxy.start('127.0.0.1', 6379);
    const port = await ephemeralPort();
    const metricsPort = await ephemeralPort();
    const api = runTs(MAIN, {
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: database.url,
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      REDIS_KEY_PREFIX: `sbtest-shutdown-${process.pid}`,
      KEY_DIR: join(workDir, 'keys-redis-down'),
      SHUTDOWN_TIMEOUT_MS: '30000',
      LOG_LEVEL: 'info',
    });
    try {
      await waitForHealthy(`http://127.0.0.1:${metricsPort}/readyz`, 45_000);
      await redis.cut();
      // A request that touches Redis while it is gone, as live traffic would.
      await fetch(`http://127.0.0.1:${port}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'nobody', password: 'not-the-password' }),
        signal: AbortSignal.timeout(10_000),
      }).catch(() => undefined);
      const signalledAt = Date.now();
      api.child.kill('SIGTERM');
      const { code, signal } = await api.exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(api.stdout()).not.toContain('shutdown did not finish in time');
      console.info(`api stopped ${Date.now() - signalledAt} ms after SIGTERM with its Redis down`);
    } finally {
      api.child.kill('SIGKILL');
      await redis.close();
    }
  }, 90_000);

  it('exits 78 listing every configuration problem before opening anything', async () => {
    const api = runTs(MAIN, { API_PORT: 'abc', LOG_LEVEL: 'loud', KEY_DIR: join(workDir, 'never') });
    const { code } = await api.exited;
    expect(code).toBe(78);
    expect(api.stderr()).toContain('API_PORT: must be a port number (got "abc")');
    expect(api.stderr()).toContain('LOG_LEVEL: must be one of');
    await expect(stat(join(workDir, 'never'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
