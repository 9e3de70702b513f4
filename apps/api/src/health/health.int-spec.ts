import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, ephemeralPort, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { HealthService } from './health.service';

// The operator port (API_PORT) says only ready or not; the per-dependency detail and the metrics are
// served by the ops server on METRICS_PORT (main.ts; over HTTP in main.int-spec.ts), from
// HealthService.opsReadiness and MetricsRegistry, which these tests read directly.
const opsReadiness = (app: NestFastifyApplication) => app.get(HealthService).opsReadiness();

describe('health probes', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('GET /healthz answers 200 {status: ok} without touching dependencies', async () => {
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 {status: ready} when Postgres and Redis both answer; the detail is for the ops port', async () => {
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready' });
    expect(await opsReadiness(app)).toEqual({
      ready: true,
      checks: {
        postgres: { ok: true, durationMs: expect.any(Number) },
        redis: { ok: true, durationMs: expect.any(Number) },
      },
    });
  });

  it('echoes a sane x-request-id and replaces one that is not', async () => {
    const kept = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'trace-42.a' },
    });
    expect(kept.headers['x-request-id']).toBe('trace-42.a');
    const replaced = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'x'.repeat(500) },
    });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('does not serve /metrics on the operator port; the ops port gets the process metrics', async () => {
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(404);
    const metrics = app.get(MetricsRegistry);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.render();
    expect(text).toMatch(/^switchboard_process_cpu_user_seconds_total \d/m);
    expect(text).toContain('switchboard_nodejs_eventloop_lag_seconds');
  });

  it('GET /readyz is 503 naming postgres when the database is unreachable, and still reports redis', async () => {
    const deadPort = await ephemeralPort();
    const broken = await startTestApp({
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${deadPort}/nothing`,
    });
    try {
      const started = Date.now();
      const response = await broken.inject({ method: 'GET', url: '/readyz' });
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(response.statusCode).toBe(503);
      // The operator port names nothing; the ops report does, without where the database lives.
      expect(response.json()).toEqual({ status: 'unavailable' });
      const report = await opsReadiness(broken);
      expect(report.ready).toBe(false);
      expect(report.checks['postgres']).toEqual({
        ok: false,
        durationMs: expect.any(Number),
        error: 'DatabaseNotReachable',
      });
      expect(report.checks['redis']?.ok).toBe(true);
      expect(JSON.stringify(report)).not.toContain(String(deadPort));
    } finally {
      await broken.close();
    }
  });

  it('GET /readyz is 503 naming redis when Redis is unreachable', async () => {
    const deadPort = await ephemeralPort();
    const broken = await startTestApp({
      DATABASE_URL: database.url,
      REDIS_URL: `redis://127.0.0.1:${deadPort}`,
      READINESS_TIMEOUT_MS: '500',
    });
    try {
      const response = await broken.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'unavailable' });
      const report = await opsReadiness(broken);
      expect(report.checks['postgres']?.ok).toBe(true);
      expect(report.checks['redis']).toEqual({
        ok: false,
        durationMs: expect.any(Number),
        error: expect.stringMatching(/^(not connected \(reconnecting\)|unreachable|timed out after 500 ms)$/),
      });
    } finally {
      await broken.close();
    }
  });

  it('a check that hangs is cut off at READINESS_TIMEOUT_MS', async () => {
    // A listener that accepts TCP but never speaks: Postgres' startup handshake waits forever.
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const hung = await startTestApp({
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/nothing`,
      READINESS_TIMEOUT_MS: '300',
    });
    try {
      const started = Date.now();
      const response = await hung.inject({ method: 'GET', url: '/readyz' });
      const elapsed = Date.now() - started;
      expect(response.statusCode).toBe(503);
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(2_000);
      expect((await opsReadiness(hung)).checks['postgres']).toMatchObject({
        ok: false,
        error: 'timed out after 300 ms',
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await hung.close();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
