import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

import { Counter } from 'prom-client';

import { createLogger } from './logger';
import { createMetricsRegistry } from './metrics';
import { startOpsServer, type OpsServer } from './ops-server';
import { checkReadiness, type ReadinessReport } from './readiness';

const logger = createLogger({ name: 'ops-test', level: 'silent' });

describe('startOpsServer', () => {
  let server: OpsServer;
  let readiness: () => Promise<ReadinessReport>;
  const registry = createMetricsRegistry();
  const requests = new Counter({ name: 'ops_test_things_total', help: 'things', registers: [registry] });

  beforeAll(async () => {
    server = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      registry,
      logger,
      readiness: () => readiness(),
      readinessTimeoutMs: 300,
    });
  });
  afterAll(() => server.close());

  it('listens on the requested host and reports the bound port', () => {
    expect(server.address.address).toBe('127.0.0.1');
    expect(server.address.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.address.port}`);
  });

  it('answers /healthz with 200 whatever the readiness', async () => {
    readiness = () => Promise.reject(new Error('down'));
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok\n');
  });

  it('answers /readyz with 200 and the checks when ready', async () => {
    // A fixed clock: the point is that the report is served as built, not how long a check took.
    readiness = () => checkReadiness({ redis: () => Promise.resolve('PONG') }, { now: () => 1_000 });
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ ready: true, checks: { redis: { ok: true, durationMs: 0 } } });
  });

  it('answers /readyz with 503 naming the failed check', async () => {
    readiness = () =>
      checkReadiness({
        redis: () => Promise.reject(new Error('connect ECONNREFUSED')),
        listeners: () => Promise.resolve(),
      });
    const response = await fetch(`${server.url}/readyz?verbose=1`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as ReadinessReport;
    expect(body.ready).toBe(false);
    expect(body.checks['redis']).toMatchObject({ ok: false, error: 'connect ECONNREFUSED' });
    expect(body.checks['listeners']).toMatchObject({ ok: true });
  });

  it('answers 503 when the readiness probe itself throws or hangs', async () => {
    readiness = () => Promise.reject(new Error('boom'));
    const failed = await fetch(`${server.url}/readyz`);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ ready: false, checks: { readiness: { error: 'boom' } } });

    readiness = () => new Promise<ReadinessReport>(() => undefined);
    const started = Date.now();
    const hung = await fetch(`${server.url}/readyz`);
    expect(hung.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await hung.json()).toMatchObject({ checks: { readiness: { error: 'timed out after 300 ms' } } });
  });

  it('serves Prometheus text with the prefixed default metrics and no service label', async () => {
    requests.inc(3);
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('ops_test_things_total 3');
    expect(text).toMatch(/^switchboard_process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^switchboard_nodejs_heap_size_used_bytes /m);
    expect(text).not.toMatch(/service="/);
    const { version } = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as {
      version: string;
    };
    const buildInfo = text.match(/^switchboard_build_info\{(.*)\} 1$/m)?.[1];
    expect(buildInfo).toContain(`version="${version}"`);
    expect(buildInfo).toContain(`node_version="${process.versions.node}"`);
    expect(buildInfo).toMatch(/revision="[^"]+"/);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/healthz/extra`)).status).toBe(404);
    const post = await fetch(`${server.url}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers HEAD without a body', async () => {
    const response = await fetch(`${server.url}/healthz`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('survives garbage on the socket and keeps serving', async () => {
    await new Promise<void>((resolve) => {
      const socket = createConnection(server.address.port, '127.0.0.1', () =>
        socket.write('\x00\x01 nonsense\r\n\r\n'),
      );
      socket.on('close', () => resolve());
      socket.on('error', () => undefined);
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('OpsServer.close', () => {
  it('closes even with a keep-alive connection open, and is safe to call twice', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const server = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      registry,
      logger,
      readiness: () => checkReadiness({}),
    });
    const socket = createConnection(server.address.port, '127.0.0.1');
    await new Promise<void>((resolve) => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
      socket.once('data', () => resolve());
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await Promise.all([server.close(), server.close()]);
    await closed;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('rejects at start when the port is taken', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const first = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      registry,
      logger,
      readiness: () => checkReadiness({}),
    });
    try {
      await expect(
        startOpsServer({
          port: first.address.port,
          host: '127.0.0.1',
          registry,
          logger,
          readiness: () => checkReadiness({}),
        }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await first.close();
    }
  });
});

describe('where the ops server listens', () => {
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const start = (host?: string) =>
    startOpsServer({ port: 0, host, registry, logger, readiness: () => checkReadiness({}) });

  // 127.0.0.2 is on the loopback interface but is not 127.0.0.1: a server bound to 127.0.0.1 refuses
  // it, one bound to every interface accepts it, so it stands in for any other address of the host.
  it('listens on 127.0.0.1 only when no host is configured (METRICS_HOST unset)', async () => {
    const server = await start();
    try {
      expect(server.address.address).toBe('127.0.0.1');
      expect((await fetch(`http://127.0.0.1:${server.address.port}/healthz`)).status).toBe(200);
      await expect(fetch(`http://127.0.0.2:${server.address.port}/metrics`)).rejects.toThrow();
    } finally {
      await server.close();
    }
  });

  it('listens everywhere when configured to', async () => {
    const server = await start('0.0.0.0');
    try {
      expect((await fetch(`http://127.0.0.2:${server.address.port}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
