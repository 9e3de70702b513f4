import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { signInAs, startTestApp } from '../../test/api-test-harness';
import { metricSample, metricSamples } from '../../test/metric-samples';

// Every answered request lands in one histogram, labelled by the route template Fastify matched, so
// an attacker's random paths cannot create series.
const DURATION = 'switchboard_api_http_request_duration_seconds';

describe('HTTP request metrics', () => {
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

  const count = (labels: Record<string, string>) => metricSample(app, `${DURATION}_count`, labels);

  it('counts 200, 401, 404 and parameterised routes by their template, never the raw path', async () => {
    const admin = await signInAs(app, 'admin');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthz?probe=1' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/v1/devices' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/v1/no-such-route/1234' })).statusCode).toBe(404);
    const device = await app.inject({
      method: 'GET',
      url: '/api/v1/devices/987654321',
      headers: { authorization: admin.authorization },
    });
    expect(device.statusCode).toBe(404); // no such device: the route matched, its answer is 404

    expect(await count({ method: 'GET', route: '/healthz', status: '200' })).toBe(2);
    expect(await count({ method: 'GET', route: '/api/v1/devices', status: '401' })).toBe(1);
    expect(await count({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(await count({ method: 'GET', route: '/api/v1/devices/:id', status: '404' })).toBe(1);

    const routes = (await metricSamples(app, `${DURATION}_count`)).map((sample) => sample.labels['route']);
    expect(routes).not.toContainEqual(expect.stringContaining('987654321'));
    expect(routes).not.toContainEqual(expect.stringContaining('no-such-route'));
    expect(routes).not.toContainEqual(expect.stringContaining('?'));
  });

  it('observes durations into buckets from 5 ms to 10 s', async () => {
    await app.inject({ method: 'GET', url: '/healthz' });
    const labels = { method: 'GET', route: '/healthz', status: '200' };
    const buckets = (await metricSamples(app, `${DURATION}_bucket`))
      .filter((sample) => sample.labels['route'] === '/healthz')
      .map((sample) => sample.labels['le']);
    expect(buckets).toEqual([
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
    expect(await metricSample(app, `${DURATION}_sum`, labels)).toBeGreaterThan(0);
  });

  it('folds unusual methods into one label value', async () => {
    await app.inject({ method: 'PROPFIND' as 'GET', url: '/healthz' });
    const methods = (await metricSamples(app, `${DURATION}_count`)).map((sample) => sample.labels['method']);
    expect(methods).not.toContain('PROPFIND');
    expect(methods).toContain('other');
  });
});
