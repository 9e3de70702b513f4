import { createTestDatabase } from '@switchboard/testing';

import { signInAs, type SignedInUser, startTestApp } from '../../test/api-test-harness';
import {
  auditEntries,
  type DeviceTestKit,
  JSON_HEADERS,
  openDeviceTestKit,
} from '../../test/device-test-kit';

interface Page {
  items: { id: string; osFamily: string | null; [key: string]: unknown }[];
  total: number | null;
  nextCursor: string | null;
}

interface BulkAnswer {
  action: string;
  dryRun: boolean;
  results: { id: string; outcome: string; message: string | null }[];
  counts: Record<string, number>;
}

interface RolesAnswer {
  role: string;
  roles: {
    role: string;
    channels: string[];
    permissions: string[];
    assignableToUsers: boolean;
    assignableToApiKeys: boolean;
  }[];
}

const SORTS = ['rustdeskId', 'hostname', 'os', 'lastSeenAt', 'createdAt'] as const;
const COLUMNS: Record<(typeof SORTS)[number], string> = {
  rustdeskId: 'rustdesk_id',
  hostname: 'hostname',
  os: 'os',
  lastSeenAt: 'last_seen_at',
  createdAt: 'created_at',
};

// What the console's Devices and device pages need of the api, against real Postgres and Redis:
// every sort and order paged to the end, filters, bulk actions and the revoke preview.
describe('devices API for the console', () => {
  let kit: DeviceTestKit;
  let admin: SignedInUser;
  let operator: string;
  let viewer: string;
  let pro: string;

  beforeAll(async () => {
    kit = await openDeviceTestKit('console');
    admin = await signInAs(kit.app, 'admin');
    operator = (await signInAs(kit.app, 'operator')).authorization;
    viewer = (await signInAs(kit.app, 'viewer')).authorization;
    pro = (await signInAs(kit.app, 'pro')).authorization;
  });

  afterAll(async () => {
    await kit?.close();
  });

  function get(url: string, authorization = viewer) {
    return kit.app.inject({ method: 'GET', url, headers: { authorization } });
  }

  function post(url: string, payload: unknown, authorization = admin.authorization) {
    return kit.app.inject({
      method: 'POST',
      url,
      headers: { authorization, ...JSON_HEADERS },
      payload: JSON.stringify(payload),
    });
  }

  /** Every page of a listing, following nextCursor; the ids in the order served. */
  async function walk(query: string, limit: number): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10_000; pages++) {
      const url: string = `/api/v1/devices?limit=${limit}&${query}${cursor === null ? '' : `&cursor=${cursor}`}`;
      const response = await get(url);
      expect(response.statusCode).toBe(200);
      const page = response.json<Page>();
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
      if (cursor === null) return ids;
      expect(page.items).toHaveLength(limit);
    }
    throw new Error('did not end');
  }

  /** The same order by one plain query: NULLs last either way, ties by id in the same direction. */
  async function expected(sort: (typeof SORTS)[number], order: 'asc' | 'desc', where: string) {
    const column = COLUMNS[sort];
    const direction = order === 'asc' ? 'ASC' : 'DESC';
    const rows = await kit.prisma.$queryRawUnsafe<{ rustdesk_id: string }[]>(
      `SELECT rustdesk_id FROM devices WHERE ${where}
       ORDER BY ${column} ${direction} NULLS LAST, rustdesk_id ${direction}`,
    );
    return rows.map((row) => row.rustdesk_id);
  }

  describe('GET /api/v1/devices: sort, order, keyset paging', () => {
    beforeAll(async () => {
      await kit.prisma.$executeRaw`TRUNCATE devices CASCADE`;
      // 60 devices with many ties (hostnames, OS strings and times repeat) and NULLs in every
      // nullable sort key; every fifth one deleted.
      const base = Date.parse('2026-11-01T00:00:00.000Z');
      await kit.prisma.device.createMany({
        data: Array.from({ length: 60 }, (_, n) => ({
          rustdeskId: `dev${String((n * 37) % 60).padStart(3, '0')}`,
          hostname: n % 7 === 0 ? null : `host${n % 4}`,
          os:
            n % 9 === 0
              ? null
              : ['Windows / 11', 'Linux / Debian 12', 'Mac OS / 14.1', 'Android / 13'][n % 4],
          lastSeenAt: n % 6 === 0 ? null : new Date(base + (n % 5) * 60_000),
          createdAt: new Date(base - (n % 3) * 86_400_000),
          deletedAt: n % 5 === 0 ? new Date(base) : null,
          tags: n % 2 === 0 ? ['even'] : [],
        })),
      });
    });

    it.each(SORTS.flatMap((sort) => (['asc', 'desc'] as const).map((order) => [sort, order] as const)))(
      'sort=%s order=%s: every device once, in order, across pages (ties and NULLs included)',
      async (sort, order) => {
        const want = await expected(sort, order, 'deleted_at IS NULL');
        expect(want).toHaveLength(48);
        expect(await walk(`sort=${sort}&order=${order}`, 5)).toEqual(want);
        expect(await walk(`sort=${sort}&order=${order}`, 1)).toEqual(want);
        // With filters, and among the deleted.
        expect(await walk(`sort=${sort}&order=${order}&tag=even&os=windows`, 2)).toEqual(
          await expected(sort, order, `deleted_at IS NULL AND 'even' = ANY(tags) AND os LIKE 'Windows%'`),
        );
        expect(await walk(`sort=${sort}&order=${order}&deleted=true`, 3)).toEqual(
          await expected(sort, order, 'deleted_at IS NOT NULL'),
        );
      },
    );

    it('refuses a cursor from another sort or order, and a forged or garbled one (400)', async () => {
      const first = (await get('/api/v1/devices?limit=2&sort=hostname')).json<Page>();
      expect(first.nextCursor).not.toBeNull();
      const cursor = first.nextCursor ?? '';
      for (const query of ['sort=os', 'sort=hostname&order=desc', 'sort=rustdeskId', '']) {
        const response = await get(`/api/v1/devices?limit=2&cursor=${cursor}&${query}`);
        expect(response.statusCode).toBe(400);
        expect(response.json()).toMatchObject({
          statusCode: 400,
          message: [expect.stringMatching(/^cursor: /)],
        });
      }
      expect((await get(`/api/v1/devices?limit=2&sort=hostname&cursor=${cursor}`)).statusCode).toBe(200);
      const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      for (const bad of [
        'not-base64-json',
        forge({ s: 'lastSeenAt', o: 'asc', k: 'yesterday', i: 'dev001' }),
        forge({ s: 'createdAt', o: 'asc', k: null, i: 'dev001' }),
        forge({ s: 'lastSeenAt', o: 'asc', k: null, i: 'bad id!' }),
        forge({ s: 'lastSeenAt', o: 'asc', k: null, i: 'dev001', extra: 1 }),
        forge(['lastSeenAt']),
        'x'.repeat(513),
      ]) {
        expect((await get(`/api/v1/devices?sort=lastSeenAt&createdAt&cursor=${bad}`)).statusCode).toBe(400);
      }
    });

    it('refuses unknown sorts, orders, OS families and admissions, naming each field (400)', async () => {
      const response = await get('/api/v1/devices?sort=ip&order=up&os=beos&admission=maybe&withTotal=1');
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^sort:/),
          expect.stringMatching(/^order:/),
          expect.stringMatching(/^os:/),
          expect.stringMatching(/^admission:/),
          expect.stringMatching(/^withTotal:/),
        ]),
      );
    });

    it('counts only when asked (withTotal=true)', async () => {
      expect((await get('/api/v1/devices?limit=2')).json<Page>().total).toBeNull();
      expect((await get('/api/v1/devices?limit=2&withTotal=true')).json<Page>().total).toBe(48);
      expect((await get('/api/v1/devices?limit=2&withTotal=true&os=unknown')).json<Page>().total).toBe(
        (await expected('rustdeskId', 'asc', 'deleted_at IS NULL AND os IS NULL')).length,
      );
      expect((await get('/api/v1/devices?withTotal=true&group=no-such-group')).json()).toEqual({
        items: [],
        total: 0,
        nextCursor: null,
      });
    });

    it('finds sparse matches beyond the probe (2,000 rows in sort order) without losing order', async () => {
      // 2,500 devices whose hostnames sort before the matches, so the probe of each page finds
      // nothing and the page comes from sorting every match.
      await kit.prisma.$executeRaw`
        INSERT INTO devices (rustdesk_id, hostname, os, note)
        SELECT 'bulk' || lpad(n::text, 5, '0'), 'aaa' || lpad(n::text, 5, '0'), 'Windows / 10',
               CASE WHEN n % 500 = 0 THEN 'needle in rack ' || n END
        FROM generate_series(1, 2500) AS n`;
      await kit.prisma.$executeRaw`
        UPDATE devices SET hostname = 'zzz' || rustdesk_id WHERE rustdesk_id IN ('bulk00500', 'bulk01000')`;
      const desc = await walk('sort=hostname&order=desc&q=needle', 2);
      expect(desc).toEqual(['bulk01000', 'bulk00500', 'bulk02500', 'bulk02000', 'bulk01500']);
      expect(await walk('sort=hostname&order=asc&q=NEEDLE', 2)).toEqual([...desc].reverse());
      // The probe alone fills these pages: most devices match.
      expect(await walk('sort=os&order=desc&os=windows', 200)).toEqual(
        await expected('os', 'desc', `deleted_at IS NULL AND os LIKE 'Windows%'`),
      );
      await kit.prisma.$executeRaw`DELETE FROM devices WHERE rustdesk_id LIKE 'bulk%'`;
    });
  });

  describe('GET /api/v1/devices: OS family, admission and search', () => {
    beforeAll(async () => {
      await kit.prisma.$executeRaw`TRUNCATE devices CASCADE`;
      await kit.prisma.device.createMany({
        data: [
          { rustdeskId: 'win00001', os: 'Windows / Windows 11 Pro', osUsername: 'Alice' },
          { rustdeskId: 'win00002', os: 'windows', note: 'Front DESK in rack 4' },
          { rustdeskId: 'lin00001', os: 'Linux / Ubuntu 22.04' },
          { rustdeskId: 'lin00002', os: 'Debian GNU 12', admission: 'pending' },
          { rustdeskId: 'mac00001', os: 'Mac OS / 14.1', admission: 'rejected' },
          { rustdeskId: 'mac00002', os: 'macOS Sonoma' },
          { rustdeskId: 'and00001', os: 'Android / 13 (Linux kernel)' },
          { rustdeskId: 'ios00001', os: 'iOS / 17.2' },
          { rustdeskId: 'ios00002', os: 'iPadOS 17' },
          { rustdeskId: 'oth00001', os: 'FreeBSD 14.0' },
          { rustdeskId: 'oth00002', os: 'Chrome OS' },
          { rustdeskId: 'non00001', os: null },
          { rustdeskId: 'non00002', os: '   ' },
        ],
      });
    });

    it('derives the family from the os string (rule in the migration) and filters on it', async () => {
      const page = (await get('/api/v1/devices?limit=200')).json<Page>();
      expect(Object.fromEntries(page.items.map((item) => [item.id, item.osFamily]))).toEqual({
        and00001: 'android',
        ios00001: 'ios',
        ios00002: 'ios',
        lin00001: 'linux',
        lin00002: 'linux',
        mac00001: 'macos',
        mac00002: 'macos',
        non00001: null,
        non00002: null,
        oth00001: 'other',
        oth00002: 'other',
        win00001: 'windows',
        win00002: 'windows',
      });
      expect(await walk('os=linux', 50)).toEqual(['lin00001', 'lin00002']);
      expect(await walk('os=unknown', 50)).toEqual(['non00001', 'non00002']);
      expect(await walk('os=ios&sort=os&order=desc', 50)).toEqual(['ios00002', 'ios00001']);
      // A change of os moves the family with it (the trigger), whoever writes it.
      await kit.prisma.device.update({
        where: { rustdeskId: 'oth00002' },
        data: { os: 'Linux / Fedora 39' },
      });
      expect(await walk('os=linux', 50)).toEqual(['lin00001', 'lin00002', 'oth00002']);
      await kit.prisma.$executeRaw`UPDATE devices SET os_family = 'windows' WHERE rustdesk_id = 'oth00002'`;
      expect(await walk('os=linux', 50)).toEqual(['lin00001', 'lin00002', 'oth00002']);
    });

    it('filters by admission, alone and with the older pending flag', async () => {
      expect(await walk('admission=pending', 50)).toEqual(['lin00002']);
      expect(await walk('admission=rejected', 50)).toEqual(['mac00001']);
      expect(await walk('admission=admitted&os=macos', 50)).toEqual(['mac00002']);
      expect(await walk('admission=rejected&pending=true', 50)).toEqual([]);
    });

    it('searches the OS username and the note too, case-insensitively', async () => {
      expect(await walk('q=alic', 50)).toEqual(['win00001']);
      expect(await walk('q=desk', 50)).toEqual(['win00002']);
      expect(await walk('q=rack%204', 50)).toEqual(['win00002']);
    });
  });

  describe('GET /api/v1/devices/:id for the device page', () => {
    it('answers system info, family, creation time and the effective strategy with where it comes from', async () => {
      await kit.prisma.$executeRaw`TRUNCATE devices CASCADE`;
      const group = await kit.prisma.deviceGroup.create({ data: { name: 'Strategic' } });
      const device = await kit.prisma.device.create({
        data: {
          rustdeskId: 'page0001',
          hostname: 'pc',
          os: 'Linux / Debian 12',
          osUsername: 'bob',
          cpu: 'Ryzen',
          memory: '16GB',
          version: '1.4.1',
          lastIp: '10.1.2.3',
          lastSeenAt: new Date(),
          groupId: group.id,
          ownerId: admin.user.id,
        },
      });
      const [byGroup, byOwner, byDevice] = await Promise.all(
        ['by-group', 'by-owner', 'by-device'].map((name) => kit.prisma.strategy.create({ data: { name } })),
      );
      const details = async () => (await get('/api/v1/devices/page0001')).json<Record<string, unknown>>();
      expect(await details()).toMatchObject({
        id: 'page0001',
        osFamily: 'linux',
        osUsername: 'bob',
        cpu: 'Ryzen',
        memory: '16GB',
        lastIp: '10.1.2.3',
        online: true,
        createdAt: expect.any(String),
        group: { name: 'Strategic' },
        owner: { id: admin.user.id },
        strategy: null,
        links: [],
      });
      await kit.prisma.strategyAssignment.create({
        data: { strategyId: byGroup!.id, deviceGroupId: group.id },
      });
      expect((await details())['strategy']).toEqual({ id: byGroup!.id, name: 'by-group', via: 'group' });
      await kit.prisma.strategyAssignment.create({
        data: { strategyId: byOwner!.id, userId: admin.user.id },
      });
      expect((await details())['strategy']).toEqual({ id: byOwner!.id, name: 'by-owner', via: 'user' });
      await kit.prisma.strategyAssignment.create({ data: { strategyId: byDevice!.id, deviceId: device.id } });
      expect((await details())['strategy']).toEqual({ id: byDevice!.id, name: 'by-device', via: 'device' });
    });
  });

  describe('POST /api/v1/devices/bulk', () => {
    beforeEach(async () => {
      await kit.prisma.$executeRaw`TRUNCATE devices CASCADE`;
      await kit.redis.del(kit.deniedKey);
      await kit.prisma.device.createMany({
        data: [
          { rustdeskId: 'blk00001' },
          { rustdeskId: 'blk00002', banned: true, banReason: 'earlier' },
          { rustdeskId: 'blk00003', admission: 'pending' },
          { rustdeskId: 'blk00004', admission: 'rejected' },
          { rustdeskId: 'blk00005', admission: 'pending', deletedAt: new Date() },
          { rustdeskId: 'blk00006', deletedAt: new Date() },
        ],
      });
      kit.events.clear();
    });

    async function snapshot() {
      return kit.prisma.device.findMany({ orderBy: { rustdeskId: 'asc' } });
    }

    const outcomes = (answer: BulkAnswer) => answer.results.map((line) => [line.id, line.outcome]);

    it('bans each device as the single route does: per-id outcome, one audit entry, deny set and event each', async () => {
      const auditBefore = (await auditEntries(kit.prisma, 'device.ban')).length;
      const response = await post(
        '/api/v1/devices/bulk',
        {
          action: 'ban',
          reason: 'cleanup',
          ids: ['blk00001', 'blk00002', 'nosuch01', 'blk00001', 'blk00006'],
        },
        operator,
      );
      expect(response.statusCode).toBe(200);
      const answer = response.json<BulkAnswer>();
      expect(answer).toMatchObject({ action: 'ban', dryRun: false });
      expect(outcomes(answer)).toEqual([
        ['blk00001', 'ok'],
        ['blk00002', 'already'],
        ['nosuch01', 'not_found'],
        ['blk00006', 'ok'],
      ]);
      expect(answer.results[1]?.message).toBe('Device is already banned');
      expect(answer.counts).toEqual({ ok: 2, already: 1, not_found: 1, not_allowed: 0 });
      // An unknown id is not banned ahead (the single route's job), so no row appears.
      expect(await kit.prisma.device.count({ where: { rustdeskId: 'nosuch01' } })).toBe(0);
      const entries = (await auditEntries(kit.prisma, 'device.ban')).slice(auditBefore);
      expect(entries.map((entry) => [entry.targetId, entry.details])).toEqual([
        ['blk00001', expect.objectContaining({ reason: 'cleanup', created: false })],
        ['blk00006', expect.objectContaining({ reason: 'cleanup', created: false })],
      ]);
      // (blk00002 was banned straight in the database, so only the two changed here reach the set.)
      expect(await kit.denied()).toEqual(['blk00001', 'blk00006']);
      const events = await kit.events.waitFor(2);
      expect(events.map((event) => [event.type, (event.payload as { deviceId: string }).deviceId])).toEqual([
        ['DeviceBanned', 'blk00001'],
        ['DeviceBanned', 'blk00006'],
      ]);
    });

    it('approves, unbans and deletes with already / not allowed / not found per id, audited', async () => {
      const approve = await post('/api/v1/devices/bulk', {
        action: 'approve',
        ids: ['blk00003', 'blk00001', 'blk00004', 'blk00005', 'nosuch01'],
      });
      expect(outcomes(approve.json<BulkAnswer>())).toEqual([
        ['blk00003', 'ok'],
        ['blk00001', 'already'],
        ['blk00004', 'not_allowed'],
        ['blk00005', 'not_allowed'],
        ['nosuch01', 'not_found'],
      ]);
      expect((await auditEntries(kit.prisma, 'device.approve', 'blk00003')).length).toBe(1);
      expect((await auditEntries(kit.prisma, 'device.approve', 'blk00001')).length).toBe(0);

      const unban = await post('/api/v1/devices/bulk', { action: 'unban', ids: ['blk00002', 'blk00001'] });
      expect(outcomes(unban.json<BulkAnswer>())).toEqual([
        ['blk00002', 'ok'],
        ['blk00001', 'already'],
      ]);
      expect(await auditEntries(kit.prisma, 'device.unban', 'blk00002')).toHaveLength(1);

      const remove = await post(
        '/api/v1/devices/bulk',
        { action: 'delete', ids: ['blk00001', 'blk00006'] },
        pro,
      );
      expect(outcomes(remove.json<BulkAnswer>())).toEqual([
        ['blk00001', 'ok'],
        ['blk00006', 'already'],
      ]);
      expect(await auditEntries(kit.prisma, 'device.delete', 'blk00001')).toHaveLength(1);
      expect(
        (await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: 'blk00001' } })).deletedAt,
      ).not.toBeNull();
    });

    it('dry run: answers what the action would do, and changes, audits and announces nothing', async () => {
      const before = await snapshot();
      const audit = (await auditEntries(kit.prisma)).length;
      const cases = [
        { action: 'approve', ids: ['blk00003', 'blk00001', 'blk00004', 'blk00005', 'nosuch01'] },
        { action: 'ban', reason: 'x', ids: ['blk00001', 'blk00002', 'nosuch01'] },
        { action: 'unban', ids: ['blk00002', 'blk00001'] },
        { action: 'delete', ids: ['blk00001', 'blk00006', 'nosuch01'] },
      ];
      const previews: BulkAnswer[] = [];
      for (const body of cases) {
        const response = await post('/api/v1/devices/bulk', { ...body, dryRun: true });
        expect(response.statusCode).toBe(200);
        expect(response.json<BulkAnswer>().dryRun).toBe(true);
        previews.push(response.json<BulkAnswer>());
      }
      expect(await snapshot()).toEqual(before);
      expect(await auditEntries(kit.prisma)).toHaveLength(audit);
      expect(await kit.denied()).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(kit.events.received).toEqual([]);
      // And the real action then does exactly what the dry run said, case by case.
      for (const [index, body] of cases.entries()) {
        await kit.prisma.$executeRaw`TRUNCATE devices CASCADE`;
        await kit.prisma.device.createMany({ data: before.map(({ id: _id, osFamily: _f, ...row }) => row) });
        const real = (await post('/api/v1/devices/bulk', body)).json<BulkAnswer>();
        expect({ ...real, dryRun: true }).toEqual(previews[index]);
      }
    });

    it("refuses an action the role lacks (the single route's permission), doing nothing", async () => {
      const before = await snapshot();
      for (const [authorization, body] of [
        [operator, { action: 'approve', ids: ['blk00003'] }],
        [operator, { action: 'delete', ids: ['blk00001'] }],
        [operator, { action: 'delete', ids: ['blk00001'], dryRun: true }],
        [viewer, { action: 'ban', reason: 'x', ids: ['blk00001'] }],
        [viewer, { action: 'unban', ids: ['blk00002'], dryRun: true }],
      ] as const) {
        const response = await post('/api/v1/devices/bulk', body, authorization);
        expect(response.statusCode).toBe(403);
        expect(response.json()).toMatchObject({ statusCode: 403, error: 'Forbidden' });
      }
      expect(await snapshot()).toEqual(before);
      expect(
        (await post('/api/v1/devices/bulk', { action: 'approve', ids: ['blk00003'] }, pro)).statusCode,
      ).toBe(200);
      expect(
        (await post('/api/v1/devices/bulk', { action: 'unban', ids: ['blk00002'] }, operator)).statusCode,
      ).toBe(200);
    });

    it('refuses bad bodies with 400 naming the field, changing nothing', async () => {
      const before = await snapshot();
      for (const [body, field] of [
        [{}, 'action'],
        [{ action: 'purge', ids: ['blk00001'] }, 'action'],
        [{ action: 'approve', ids: [] }, 'ids'],
        [{ action: 'approve', ids: 'blk00001' }, 'ids'],
        [{ action: 'approve', ids: ['bad id'] }, 'ids.0'],
        [{ action: 'approve', ids: Array.from({ length: 501 }, (_, n) => `id${n}`) }, 'ids'],
        [{ action: 'ban', ids: ['blk00001'] }, 'reason'],
        [{ action: 'ban', ids: ['blk00001'], reason: '   ' }, 'reason'],
        [{ action: 'unban', ids: ['blk00002'], reason: 'why' }, 'reason'],
        [{ action: 'delete', ids: ['blk00001'], dryRun: 'yes' }, 'dryRun'],
        [{ action: 'delete', ids: ['blk00001'], extra: 1 }, ''],
      ] as const) {
        const response = await post('/api/v1/devices/bulk', body);
        expect(response.statusCode).toBe(400);
        if (field !== '') {
          expect(response.json().message).toEqual(
            expect.arrayContaining([expect.stringMatching(new RegExp(`^${field}: `))]),
          );
        }
      }
      const malformed = await kit.app.inject({
        method: 'POST',
        url: '/api/v1/devices/bulk',
        headers: { authorization: admin.authorization, ...JSON_HEADERS },
        payload: '{"action": ',
      });
      expect(malformed.statusCode).toBe(400);
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('links and the revoke preview', () => {
    beforeEach(async () => {
      await kit.prisma.$executeRaw`TRUNCATE devices CASCADE`;
      await kit.prisma.device.createMany({
        data: ['lnk00001', 'lnk00002', 'lnk00003', 'lnk00004', 'lnk00005'].map((rustdeskId) => ({
          rustdeskId,
        })),
      });
      // 1 - 2 - 3 - 1 (a cycle), 3 - 4, and 5 alone.
      for (const [a, b] of [
        ['lnk00001', 'lnk00002'],
        ['lnk00003', 'lnk00002'],
        ['lnk00001', 'lnk00003'],
        ['lnk00004', 'lnk00003'],
      ]) {
        expect((await post(`/api/v1/devices/${a}/links/${b}`, {})).statusCode).toBe(200);
      }
    });

    it('lists direct links either way round', async () => {
      expect((await get('/api/v1/devices/lnk00003/links')).json()).toEqual({
        id: 'lnk00003',
        links: [
          { id: 'lnk00001', linkedAt: expect.any(String) },
          { id: 'lnk00002', linkedAt: expect.any(String) },
          { id: 'lnk00004', linkedAt: expect.any(String) },
        ],
      });
      expect((await get('/api/v1/devices/lnk00005/links')).json()).toEqual({ id: 'lnk00005', links: [] });
      expect((await get('/api/v1/devices/nosuch01/links')).statusCode).toBe(404);
      expect((await get('/api/v1/devices/bad%20id/links')).statusCode).toBe(400);
    });

    it('previews exactly the set a cascading revoke then takes down', async () => {
      const preview = (await get('/api/v1/devices/lnk00002/revoke-preview')).json();
      expect(preview).toEqual({
        id: 'lnk00002',
        cascade: ['lnk00001', 'lnk00003', 'lnk00004'],
        alreadyRevoked: false,
        tooMany: false,
        maxCascade: 1000,
      });
      const revoked = await post('/api/v1/devices/lnk00002/revoke', { cascade: true });
      expect(revoked.statusCode).toBe(200);
      const [entry] = await auditEntries(kit.prisma, 'device.revoke', 'lnk00002');
      expect((entry?.details as { cascade: string[] }).cascade).toEqual(preview.cascade);
      const rows = await kit.prisma.device.findMany({
        where: { revokedAt: { not: null } },
        orderBy: { rustdeskId: 'asc' },
      });
      expect(rows.map((row) => row.rustdeskId)).toEqual(['lnk00001', 'lnk00002', 'lnk00003', 'lnk00004']);
      expect((await get('/api/v1/devices/lnk00002/revoke-preview')).json()).toMatchObject({
        alreadyRevoked: true,
      });
      expect((await get('/api/v1/devices/lnk00005/revoke-preview')).json()).toMatchObject({ cascade: [] });
      expect((await get('/api/v1/devices/nosuch01/revoke-preview')).statusCode).toBe(404);
    });
  });

  describe('GET /api/v1/roles', () => {
    it('lists every role with its grants and what the caller may assign', async () => {
      const asAdmin = (await get('/api/v1/roles', admin.authorization)).json<RolesAnswer>();
      expect(asAdmin.role).toBe('admin');
      expect(asAdmin.roles.map((role) => role.role)).toEqual(['admin', 'operator', 'viewer', 'pro']);
      expect(asAdmin.roles.every((role) => role.assignableToUsers)).toBe(true);
      expect(asAdmin.roles.every((role) => role.assignableToApiKeys)).toBe(true);
      expect(asAdmin.roles[2]).toEqual({
        role: 'viewer',
        channels: ['panel', 'api'],
        permissions: ['device.view', 'audit.view'],
        assignableToUsers: true,
        assignableToApiKeys: true,
      });
      const asOperator = (await get('/api/v1/roles', operator)).json<RolesAnswer>();
      expect(
        asOperator.roles.map((role) => [role.role, role.assignableToUsers, role.assignableToApiKeys]),
      ).toEqual([
        ['admin', false, false],
        ['operator', false, true],
        ['viewer', false, true],
        ['pro', false, false],
      ]);
      expect((await kit.app.inject({ method: 'GET', url: '/api/v1/roles' })).statusCode).toBe(401);
    });
  });

  describe('OpenAPI document (the console generates its typed client from it)', () => {
    it('names a response schema for each new route, with its fields', async () => {
      const database = await createTestDatabase();
      const app = await startTestApp({
        DATABASE_URL: database.url,
        REDIS_KEY_PREFIX: `${kit.prefix}-docs`,
        API_DOCS_ENABLED: 'true',
      });
      try {
        type Schema = { $ref?: string; properties?: Record<string, unknown> };
        const document = (await app.inject({ method: 'GET', url: '/api/docs/json' })).json<{
          paths: Record<
            string,
            Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>
          >;
          components: { schemas: Record<string, Schema> };
        }>();
        const fields = (path: string, method: string) => {
          const ref =
            document.paths[path]?.[method]?.responses['200']?.content?.['application/json']?.schema.$ref;
          return Object.keys(
            document.components.schemas[(ref ?? '').replace('#/components/schemas/', '')]?.properties ?? {},
          );
        };
        expect(fields('/api/v1/devices', 'get')).toEqual(['items', 'total', 'nextCursor']);
        expect(fields('/api/v1/devices/bulk', 'post')).toEqual(['action', 'dryRun', 'results', 'counts']);
        expect(fields('/api/v1/devices/{id}', 'get')).toEqual(
          expect.arrayContaining(['osFamily', 'strategy', 'links']),
        );
        expect(fields('/api/v1/devices/{id}/links', 'get')).toEqual(['id', 'links']);
        expect(fields('/api/v1/devices/{id}/revoke-preview', 'get')).toEqual(
          expect.arrayContaining(['cascade', 'alreadyRevoked', 'tooMany']),
        );
        expect(fields('/api/v1/roles', 'get')).toEqual(['role', 'roles']);
      } finally {
        await app.close();
        await database.drop();
      }
    });
  });
});
