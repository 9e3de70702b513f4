import { type NestFastifyApplication } from '@nestjs/platform-fastify';

import { signInAs } from '../../test/api-test-harness';
import { JSON_HEADERS, openKitParts, startKitApp } from '../../test/device-test-kit';
import { RedisConnection } from '../redis/redis.connection';
import { DeviceDenySet } from './device-deny-set';

type Parts = Awaited<ReturnType<typeof openKitParts>>;

// The relays' deny set at api start: rebuilt from Postgres, stale entries dropped, and bans made
// meanwhile (by this api or another replica) never lost.
describe('relay deny set rebuild', () => {
  let parts: Parts;
  const apps: NestFastifyApplication[] = [];

  beforeAll(async () => {
    parts = await openKitParts('denyset');
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await parts.redis.del(parts.deniedKey, `${parts.deniedKey}:rebuilt`);
    parts.redis.disconnect();
    await parts.prisma.$disconnect();
    await parts.database.drop();
  });

  beforeEach(async () => {
    await parts.prisma.$executeRaw`TRUNCATE devices CASCADE`;
    await parts.redis.del(parts.deniedKey, `${parts.deniedKey}:rebuilt`);
  });

  async function start(): Promise<NestFastifyApplication> {
    const app = await startKitApp(parts);
    apps.push(app);
    return app;
  }

  const denied = async () => (await parts.redis.smembers(parts.deniedKey)).sort();

  async function deniedInPostgres(): Promise<string[]> {
    const rows = await parts.prisma.device.findMany({
      where: { OR: [{ banned: true }, { revokedAt: { not: null } }, { deletedAt: { not: null } }] },
      orderBy: { rustdeskId: 'asc' },
      select: { rustdeskId: true },
    });
    return rows.map((row) => row.rustdeskId);
  }

  it('at start holds exactly the banned, revoked and soft-deleted ids, whatever the set held before', async () => {
    await parts.prisma.device.createMany({
      data: [
        { rustdeskId: 'banned01', banned: true },
        { rustdeskId: 'revoked01', revokedAt: new Date() },
        { rustdeskId: 'deleted01', deletedAt: new Date() },
        { rustdeskId: 'plain001' },
        { rustdeskId: 'pending01', admission: 'pending' },
      ],
    });
    // Left over from before: a correct entry, an id no longer denied, an id with no row at all.
    await parts.redis.sadd(parts.deniedKey, 'banned01', 'plain001', 'ghost001');

    await start();

    expect(await denied()).toEqual(['banned01', 'deleted01', 'revoked01']);
  });

  /** 3,000 devices, every one a stale entry of the set, so each rebuild batch removes what it finds not denied. */
  async function seedStale(): Promise<(n: number) => string> {
    const count = 3_000;
    await parts.prisma.$executeRaw`
      INSERT INTO devices (rustdesk_id) SELECT (500000000 + n)::text FROM generate_series(1, ${count}) AS n`;
    const idOf = (n: number) => String(500_000_000 + n);
    await parts.redis.sadd(parts.deniedKey, ...Array.from({ length: count }, (_, n) => idOf(n + 1)));
    return idOf;
  }

  /** Bans spread over `spreadMs`, so some land while a rebuild runs. */
  async function banSpread(
    app: NestFastifyApplication,
    admin: string,
    ids: readonly string[],
    spreadMs: number,
  ) {
    return Promise.all(
      ids.map(async (id, index) => {
        await new Promise((resolve) => setTimeout(resolve, (index * spreadMs) / ids.length));
        return app.inject({
          method: 'POST',
          url: `/api/v1/devices/${id}/ban`,
          headers: { authorization: admin, ...JSON_HEADERS },
          payload: JSON.stringify({ reason: 'race' }),
        });
      }),
    );
  }

  it('rebuilds the set when its Redis connection comes back, since Redis may have lost it', async () => {
    await parts.prisma.device.createMany({
      data: [{ rustdeskId: 'banned02', banned: true }, { rustdeskId: 'plain002' }],
    });
    const app = await start();
    expect(await denied()).toEqual(['banned02']);
    // After each complete rebuild, a fresh id tells relays the set is whole (relay-access-lists.ts).
    const rebuiltKey = `${parts.deniedKey}:rebuilt`;
    const firstRebuild = await parts.redis.get(rebuiltKey);
    expect(firstRebuild).not.toBeNull();
    // A Redis restart without persistence: the set is gone, and the api's connection drops and returns.
    await parts.redis.del(parts.deniedKey, rebuiltKey);
    app.get(RedisConnection).client.disconnect(true);
    const deadline = Date.now() + 10_000;
    while ((await parts.redis.get(rebuiltKey)) === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await denied()).toEqual(['banned02']);
    expect(await parts.redis.get(rebuiltKey)).not.toBe(firstRebuild);
  });

  it('loses no ban made by this api while it rebuilds the set', async () => {
    const app = apps[0] ?? (await start());
    const idOf = await seedStale();
    // A rebuild that read Postgres before a ban and wrote after it would drop that ban.
    const targets = Array.from({ length: 60 }, (_, k) => idOf(1 + k * 47));
    const admin = (await signInAs(app, 'admin')).authorization;
    const [responses] = await Promise.all([
      banSpread(app, admin, targets, 300),
      app.get(DeviceDenySet).rebuild(),
    ]);
    expect(responses.map((response) => response.statusCode)).toEqual(targets.map(() => 200));
    expect(await deniedInPostgres()).toEqual([...targets].sort());
    expect(await denied()).toEqual([...targets].sort());
  });

  it("loses no ban made while another replica's start rebuilds the set", async () => {
    const app = apps[0] ?? (await start());
    const idOf = await seedStale();
    const targets = Array.from({ length: 60 }, (_, k) => idOf(2 + k * 47));
    const admin = (await signInAs(app, 'admin')).authorization;
    const [responses] = await Promise.all([banSpread(app, admin, targets, 1_500), start()]);
    expect(responses.map((response) => response.statusCode)).toEqual(targets.map(() => 200));
    expect(await deniedInPostgres()).toEqual([...targets].sort());
    expect(await denied()).toEqual([...targets].sort());
  });

  it('agrees with Postgres after racing bans and unbans of the same ids during a rebuild', async () => {
    await parts.prisma.device.createMany({
      data: Array.from({ length: 20 }, (_, n) => ({ rustdeskId: `flip${String(n).padStart(4, '0')}` })),
    });
    const app = apps[0] ?? (await start());
    const admin = (await signInAs(app, 'admin')).authorization;
    const act = (id: string, action: 'ban' | 'unban') =>
      app.inject({
        method: 'POST',
        url: `/api/v1/devices/${id}/${action}`,
        headers: action === 'ban' ? { authorization: admin, ...JSON_HEADERS } : { authorization: admin },
        ...(action === 'ban' ? { payload: JSON.stringify({ reason: 'flip' }) } : {}),
      });
    const work: Promise<unknown>[] = [app.get(DeviceDenySet).rebuild()];
    for (let round = 0; round < 5; round += 1) {
      for (let n = 0; n < 20; n += 1) {
        const id = `flip${String(n).padStart(4, '0')}`;
        work.push(act(id, round % 2 === 0 ? 'ban' : 'unban'));
      }
      if (round === 2) work.push(app.get(DeviceDenySet).rebuild());
    }
    await Promise.all(work);
    expect(await denied()).toEqual(await deniedInPostgres());
  });
});
