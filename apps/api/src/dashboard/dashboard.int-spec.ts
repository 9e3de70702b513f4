import { randomBytes } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { encodePublicKeyFile } from '@switchboard/crypto';
import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { RefusalTally, ServiceHealthReporter } from '@switchboard/events';
import { createLogger } from '@switchboard/observability';
import { RelayNodeDirectory, RelayRecordKey, registryKeys } from '@switchboard/relay-registry';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { Redis } from 'ioredis';

import { type SignedInUser, signInAs, startTestApp } from '../../test/api-test-harness';
import { type DashboardView, type ServerInfoView } from './dashboard.dto';

const REDIS_URL = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';
const silent = createLogger({ name: 'dashboard-test', level: 'silent' });

describe('dashboard, relays and server-info (real Postgres and Redis)', () => {
  const prefix = `sb-test-dashboard-${randomBytes(4).toString('hex')}`;
  const recordKey = RelayRecordKey.generate();
  const signalPublicKey = encodePublicKeyFile(randomBytes(32));
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let second: NestFastifyApplication | undefined;
  let prisma: PrismaClient;
  let redis: Redis;
  let admin: SignedInUser;
  let viewer: SignedInUser;
  let pro: SignedInUser;

  const env = () => ({
    DATABASE_URL: database.url,
    REDIS_KEY_PREFIX: prefix,
    RELAY_REGISTRY_KEY: recordKey.toBase64(),
    SIGNAL_PUBLIC_KEY: signalPublicKey,
    PUBLIC_URL: 'https://rd.example.com/',
    DASHBOARD_SAMPLE_INTERVAL_SECONDS: '300',
    API_DOCS_ENABLED: 'true',
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = createPrismaClient(database.url);
    redis = new Redis(REDIS_URL);
    const now = Date.now();
    await prisma.device.createMany({
      data: [
        { rustdeskId: '100000001', lastSeenAt: new Date(now - 10_000) },
        { rustdeskId: '100000002', lastSeenAt: new Date(now - 60_000) },
        { rustdeskId: '100000003', lastSeenAt: new Date(now - 3_600_000) },
        { rustdeskId: '100000004', admission: 'pending' },
        { rustdeskId: '100000005', banned: true, lastSeenAt: new Date(now - 5_000) },
        { rustdeskId: '100000006', deletedAt: new Date(), lastSeenAt: new Date(now) },
      ],
    });
    app = await startTestApp(env());
    admin = await signInAs(app, 'admin');
    viewer = await signInAs(app, 'viewer');
    pro = await signInAs(app, 'pro');
  });

  afterAll(async () => {
    await second?.close();
    await app?.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await prisma?.$disconnect();
    await database?.drop();
  });

  const get = (url: string, user: SignedInUser, target = app) =>
    target.inject({ method: 'GET', url, headers: { authorization: user.authorization } });

  async function onlineSampleKeys(): Promise<string[]> {
    return redis.keys(`${prefix}:dashboard:online:*`);
  }

  async function waitFor(check: () => Promise<boolean>): Promise<void> {
    for (const started = Date.now(); Date.now() - started < 5_000;) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('condition not met within 5 s');
  }

  it('counts live devices by state and charts the sampled online count', async () => {
    await waitFor(async () => (await onlineSampleKeys()).length === 1);
    const response = await get('/api/v1/dashboard', admin);
    expect(response.statusCode).toBe(200);
    const body = response.json<DashboardView>();
    expect(body.devices).toEqual({ total: 5, online: 3, pending: 1, banned: 1, onlineWindowSeconds: 90 });
    expect(body.online24h?.intervalSeconds).toBe(300);
    expect(body.online24h?.points).toHaveLength(288);
    expect(body.online24h?.points.at(-1)).toEqual({ at: expect.any(String), online: 3 });
    expect(body.online24h?.points[0]?.online).toBeNull();
    expect(body.unavailable).toEqual([]);
  });

  it('a second api replica adds no sample for a bucket that has one', async () => {
    second = await startTestApp(env());
    await new Promise((resolve) => setTimeout(resolve, 300));
    const keys = await onlineSampleKeys();
    expect(keys).toHaveLength(1);
    expect(await redis.get(keys[0] ?? '')).toBe('3');
    expect(await redis.ttl(keys[0] ?? '')).toBeGreaterThan(24 * 3600);
  });

  it('sums the refusal counts signal flushes, by reason', async () => {
    const tally = new RefusalTally({ redis, redisKeyPrefix: prefix, logger: silent });
    for (let i = 0; i < 5; i++) tally.count('banned');
    tally.count('pending');
    await tally.flush();
    tally.count('banned');
    await tally.flush();
    // An hour ago, still in the window.
    const earlier = new RefusalTally({
      redis,
      redisKeyPrefix: prefix,
      logger: silent,
      now: () => Date.now() - 3_600_000,
    });
    earlier.count('unknown-device');
    await earlier.flush();
    const body = (await get('/api/v1/dashboard', admin)).json();
    expect(body.refusals24h).toEqual({
      since: expect.any(String),
      total: 8,
      byReason: { banned: 6, pending: 1, 'unknown-device': 1 },
    });
  });

  it('lists relay nodes whose records carry the registry MAC, and counts the others as malformed', async () => {
    const directory = new RelayNodeDirectory(redis, registryKeys(`${prefix}:relay`), recordKey);
    await directory.publish(
      {
        nodeId: 'relay-a',
        address: 'relay-a.example.com:21117',
        sessions: 5,
        bytesPerSecond: 1200,
        capacity: 20,
        draining: false,
        updatedAt: Date.now(),
      },
      60_000,
    );
    const forged = new RelayNodeDirectory(redis, registryKeys(`${prefix}:relay`), RelayRecordKey.generate());
    await forged.publish(
      {
        nodeId: 'rogue',
        address: 'evil.example.com',
        sessions: 0,
        bytesPerSecond: 0,
        capacity: 1,
        draining: false,
        updatedAt: 0,
      },
      60_000,
    );
    const relays = (await get('/api/v1/relays', admin)).json();
    expect(relays).toEqual({
      available: true,
      problem: null,
      malformed: 1,
      nodes: [
        {
          nodeId: 'relay-a',
          address: 'relay-a.example.com:21117',
          wsAddress: null,
          sessions: 5,
          capacity: 20,
          load: 0.25,
          bytesPerSecond: 1200,
          draining: false,
          lastHeartbeatAt: expect.any(String),
          expiresInMs: expect.any(Number),
        },
      ],
    });
    expect((await get('/api/v1/dashboard', admin)).json().relays).toEqual({
      ...relays,
      nodes: [{ ...relays.nodes[0], expiresInMs: expect.any(Number) }],
    });
  });

  it('shows each instance event health and its lag behind the published seq', async () => {
    await redis.set(`${prefix}:events:seq`, '42');
    const reporters = [
      new ServiceHealthReporter({
        redis,
        redisKeyPrefix: prefix,
        service: 'signal',
        instanceId: 'signal-0',
        read: () => ({ eventsReady: true, appliedSeq: 42 }),
        logger: silent,
      }),
      new ServiceHealthReporter({
        redis,
        redisKeyPrefix: prefix,
        service: 'relay',
        instanceId: 'relay-a',
        read: () => ({ eventsReady: false, appliedSeq: 40 }),
        logger: silent,
      }),
    ];
    for (const reporter of reporters) await reporter.report();
    const events = (await get('/api/v1/dashboard', admin)).json().events;
    expect(events).toMatchObject({
      apiRedisConnected: true,
      publishedSeq: 42,
      maxLag: 2,
      unhealthy: 1,
      instances: [
        { service: 'relay', instanceId: 'relay-a', eventsReady: false, appliedSeq: 40, lag: 2 },
        { service: 'signal', instanceId: 'signal-0', eventsReady: true, appliedSeq: 42, lag: 0 },
      ],
    });
    // A stopped instance removes its record.
    await reporters[1]?.stop();
    const after = (await get('/api/v1/dashboard', admin)).json<DashboardView>().events;
    expect(after?.instances.map((instance) => instance.instanceId)).toEqual(['signal-0']);
  });

  it('reports the last chain verification and the latest audit entries', async () => {
    const before = (await get('/api/v1/dashboard', admin)).json().audit;
    expect(before.lastVerification).toBeNull();
    const verified = await app.inject({
      method: 'POST',
      url: '/api/v1/audit/verify',
      headers: { authorization: admin.authorization },
    });
    expect(verified.statusCode).toBe(200);
    const audit = (await get('/api/v1/dashboard', admin)).json().audit;
    expect(audit.lastVerification).toMatchObject({ ok: true, actorId: admin.user.id, brokenSeq: null });
    expect(audit.latest.length).toBeGreaterThan(0);
    expect(audit.latest.length).toBeLessThanOrEqual(10);
    expect(audit.latest[0]).toMatchObject({ action: 'audit.verified' });
  });

  it('leaves out what the role may not see: a viewer gets no relays or events, pro no audit', async () => {
    const forViewer = (await get('/api/v1/dashboard', viewer)).json();
    expect(forViewer.devices.total).toBe(5);
    expect(forViewer).not.toHaveProperty('relays');
    expect(forViewer).not.toHaveProperty('events');
    expect(forViewer.audit.latest.length).toBeGreaterThan(0);
    const forPro = (await get('/api/v1/dashboard', pro)).json();
    expect(forPro).not.toHaveProperty('audit');
    expect(forPro).not.toHaveProperty('relays');

    const refused = await get('/api/v1/relays', viewer);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'Missing permission setting.view',
      requestId: expect.any(String),
    });
    expect((await app.inject({ method: 'GET', url: '/api/v1/dashboard' })).statusCode).toBe(401);
  });

  it('gives the client configuration, whose config string decodes back as the client reads it', async () => {
    const info = (await get('/api/v1/server-info', viewer)).json<ServerInfoView>();
    expect(info).toMatchObject({
      publicKey: signalPublicKey,
      publicKeyProblem: null,
      idServer: 'rd.example.com',
      relayServer: null,
      liveRelays: ['relay-a.example.com:21117'],
      apiServer: 'https://rd.example.com',
      sources: { idServer: 'public_url', relayServer: 'none', apiServer: 'public_url' },
    });
    expect(info.configCommand).toBe(`rustdesk --config ${info.configString}`);
    expect(decodeLikeClient(info.configString ?? '')).toEqual({
      host: 'rd.example.com',
      relay: '',
      api: 'https://rd.example.com',
      key: signalPublicKey,
    });

    const put = (key: string, value: string) =>
      app.inject({
        method: 'PUT',
        url: `/api/v1/settings/${key}`,
        headers: { authorization: admin.authorization, 'content-type': 'application/json' },
        payload: JSON.stringify({ value }),
      });
    expect((await put('client.id_server', 'id.example.com:21116')).statusCode).toBe(200);
    expect((await put('client.relay_server', 'relay.example.com')).statusCode).toBe(200);
    expect((await put('client.relay_server', 'https://not-a-host/')).statusCode).toBe(400);
    const changed = (await get('/api/v1/server-info', admin)).json<ServerInfoView>();
    expect(changed.sources).toEqual({ idServer: 'setting', relayServer: 'setting', apiServer: 'public_url' });
    expect(decodeLikeClient(changed.configString ?? '')).toMatchObject({
      host: 'id.example.com:21116',
      relay: 'relay.example.com',
    });
  });

  it('documents the response shapes in the OpenAPI document', async () => {
    const document = (await app.inject({ method: 'GET', url: '/api/docs/json' })).json();
    for (const path of ['/api/v1/dashboard', '/api/v1/relays', '/api/v1/server-info']) {
      const schema = document.paths[path].get.responses['200'].content['application/json'].schema;
      expect(schema.$ref).toMatch(/^#\/components\/schemas\//);
    }
    expect(document.components.schemas.Dashboard.properties).toHaveProperty('online24h');
  });
});

/** flutter/lib/common.dart ServerConfig.decode (rustdesk-server-config.spec.ts checks the Rust reader too). */
function decodeLikeClient(configString: string): Record<string, string> {
  const reversed = [...configString].reverse().join('');
  return JSON.parse(Buffer.from(reversed, 'base64url').toString('utf8')) as Record<string, string>;
}
