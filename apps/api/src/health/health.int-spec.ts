import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, ephemeralPort, type TestDatabase } from '@switchboard/testing';

import { startTestApp } from '../../test/api-test-harness';

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

  it('GET /readyz is 200 when Postgres and Redis both answer', async () => {
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ready',
      checks: {
        postgres: { status: 'up', latencyMs: expect.any(Number) },
        redis: { status: 'up', latencyMs: expect.any(Number) },
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

  it('GET /metrics exposes the default process metrics in Prometheus text format', async () => {
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.body).toMatch(/^process_cpu_user_seconds_total\{service="api"\} \d/m);
    expect(response.body).toContain('nodejs_eventloop_lag_seconds');
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
      const body = response.json();
      expect(body.status).toBe('unavailable');
      expect(body.checks.postgres).toEqual({
        status: 'down',
        latencyMs: expect.any(Number),
        error: 'DatabaseNotReachable',
      });
      expect(body.checks.redis.status).toBe('up');
      // The unauthenticated probe does not reveal where the database lives.
      expect(response.body).not.toContain(String(deadPort));
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
      const body = response.json();
      expect(body.checks.postgres.status).toBe('up');
      expect(body.checks.redis).toEqual({
        status: 'down',
        latencyMs: expect.any(Number),
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
      expect(response.json().checks.postgres).toMatchObject({
        status: 'down',
        error: 'timed out after 300 ms',
      });
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(2_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await hung.close();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
