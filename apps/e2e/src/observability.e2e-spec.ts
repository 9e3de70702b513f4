import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Redis } from 'ioredis';

import {
  createTestDatabase,
  OBSERVABILITY_FILES,
  observabilityMetricNames,
  type TestDatabase,
} from '@switchboard/testing';
import { type ServerCertificateFiles, ThrowawayCa } from '@switchboard/tls';

import { type ApiProcess, startApi } from './support/api-process';
import { metricSum, parsePrometheusText } from './support/process-probe';
import { Fleet, newMachine } from './support/fleet';
import { type RelayProcess, startRelay } from './support/relay-process';
import { type SignalProcess, startSignal } from './support/signal-process';

// Issue 15 item 1: the shipped dashboard and alert rules (deploy/observability) query metrics by
// name, and a renamed metric leaves a panel empty and an alert silent without any error. This runs
// the real api, signal and relay (with certificates, so the TLS series exist) and checks every name
// those files use against what the services declare on their ops ports, plus the naming rules.

jest.setTimeout(90_000);

const ROOT = join(__dirname, '../../..');

type Service = 'api' | 'signal' | 'relay';

/** Metric name → the services whose /metrics declare it (`# TYPE <name> ...`). */
type Declared = Map<string, Set<Service>>;

describe('the dashboard and alert rules match what the running services export', () => {
  const prefix = `e2e-observability-${randomUUID()}`;
  let ca: ThrowawayCa;
  let files: ServerCertificateFiles;
  let database: TestDatabase;
  let signal: SignalProcess;
  let relay: RelayProcess;
  let api: ApiProcess;
  let redis: Redis;
  const texts = new Map<Service, string>();

  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379');
    ca = await ThrowawayCa.create();
    files = await ca.issueServer({ hosts: ['localhost', '127.0.0.1'] });
    const certificate = { TLS_CERT_FILE: files.certFile, TLS_KEY_FILE: files.keyFile };
    database = await createTestDatabase();
    signal = await startSignal({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: prefix,
      REGISTRATION_POLICY: 'open',
      ...certificate,
    });
    [relay, api] = await Promise.all([
      startRelay('e2e-observability-relay', {
        REDIS_KEY_PREFIX: prefix,
        KEY: '-',
        KEY_DIR: signal.keyDir,
        ...certificate,
      }),
      startApi({ DATABASE_URL: database.url, REDIS_KEY_PREFIX: prefix }),
    ]);
    await relay.whenReady();
  }, 120_000);

  afterAll(async () => {
    const stopped = await Promise.all([api?.stop(), signal?.stop(), relay?.stop()]);
    await database?.drop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await ca?.dispose();
    for (const result of stopped) expect(result?.code).toBe(0);
  }, 60_000);

  const metricsUrl: Record<Service, () => string> = {
    api: () => `${api.opsUrl}/metrics`,
    signal: () => `http://127.0.0.1:${signal.metricsPort}/metrics`,
    relay: () => `http://127.0.0.1:${relay.metricsPort}/metrics`,
  };

  async function scrapeAll(): Promise<Declared> {
    const declared: Declared = new Map();
    for (const service of ['api', 'signal', 'relay'] as const) {
      const text = await (await fetch(metricsUrl[service]())).text();
      texts.set(service, text);
      for (const [, name] of text.matchAll(/^# TYPE (\S+) /gm)) {
        if (name === undefined) continue;
        declared.set(name, (declared.get(name) ?? new Set()).add(service));
      }
    }
    return declared;
  }

  it('a ban through the api is measured as apply lag in signal and the relay', async () => {
    const fleet = new Fleet({ host: signal.host, port: signal.port, key: signal.publicKeyFile });
    try {
      const machine = newMachine();
      const { outcome } = await fleet.register(machine, 'udp');
      expect(outcome).toMatchObject({ answered: true });
      const response = await fetch(`${api.baseUrl}/api/v1/devices/${machine.id}/ban`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await api.adminToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'e2e: observability' }),
      });
      expect(response.status).toBe(200);
    } finally {
      await fleet.stopAll();
    }
    const lagCount = (service: Service) =>
      fetch(metricsUrl[service]())
        .then((reply) => reply.text())
        .then((text) => sample(text, 'switchboard_events_apply_lag_seconds_count', { type: 'DeviceBanned' }));
    const deadline = Date.now() + 15_000;
    while ((await lagCount('signal')) < 1 || (await lagCount('relay')) < 1) {
      if (Date.now() > deadline) throw new Error('the ban never showed in the apply lag of signal and relay');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const service of ['signal', 'relay'] as const) {
      const text = await (await fetch(metricsUrl[service]())).text();
      // Same machine, same clock: a ban reaches a subscriber well within the 10 s bucket.
      expect(
        sample(text, 'switchboard_events_apply_lag_seconds_bucket', { type: 'DeviceBanned', le: '10' }),
      ).toBe(sample(text, 'switchboard_events_apply_lag_seconds_count', { type: 'DeviceBanned' }));
      expect(sample(text, 'switchboard_events_subscriber_ready')).toBe(1);
    }
  });

  it('every metric the dashboard and the alert rules query is exported by the service its name says', async () => {
    const queried = observabilityMetricNames({
      dashboards: await Promise.all(
        OBSERVABILITY_FILES.dashboards.map((path) => readFile(join(ROOT, path), 'utf8')),
      ),
      rules: await Promise.all(OBSERVABILITY_FILES.rules.map((path) => readFile(join(ROOT, path), 'utf8'))),
    });
    expect(queried.length).toBeGreaterThan(20);
    const declared = await scrapeAll();

    const problems = queried.flatMap((name) => {
      const owner = (['api', 'signal', 'relay'] as const).find((service) =>
        name.startsWith(`switchboard_${service}_`),
      );
      const exporters = declared.get(name) ?? new Set<Service>();
      if (owner !== undefined) return exporters.has(owner) ? [] : [`${name}: not exported by ${owner}`];
      return exporters.size > 0 ? [] : [`${name}: exported by no service`];
    });
    expect(problems).toEqual([]);
  });

  it('every series is prefixed switchboard_, carries no service label, and each service reports its build', async () => {
    const declared = await scrapeAll();
    expect([...declared.keys()].filter((name) => !name.startsWith('switchboard_'))).toEqual([]);
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const [service, text] of texts) {
      expect({ service, labelled: /[{,]service="/.test(text) }).toEqual({ service, labelled: false });
      expect({ service, build: sample(text, 'switchboard_build_info', { version }) }).toEqual({
        service,
        build: 1,
      });
      // Each service's own series are there, and none of another service's.
      const own = [...declared].filter(([, services]) => services.has(service)).map(([name]) => name);
      expect(own.some((name) => name.startsWith(`switchboard_${service}_`))).toBe(true);
      const others = (['api', 'signal', 'relay'] as const).filter((other) => other !== service);
      expect(own.filter((name) => others.some((other) => name.startsWith(`switchboard_${other}_`)))).toEqual(
        [],
      );
    }
  });
});

/** The sum of the samples of `name` whose labels include `labels`, in Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  return metricSum(parsePrometheusText(text), name, labels);
}
