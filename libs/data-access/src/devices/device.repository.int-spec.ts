import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { createScratchDatabase, type ScratchDatabase } from '../migrations/database-admin';
import { applyMigrations } from '../migrations/migration-runner';
import { createPrismaClient, type PrismaClient } from '../prisma-client';
import { type DeviceAccessRow, DeviceRepository } from './device.repository';
import { uuidDigest } from './uuid-digest';

jest.setTimeout(120_000);

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const MiB = 1024 * 1024;

function heapAfterGc(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

// What @switchboard/testing's createTestDatabase does, built from this library's own parts (testing
// depends on data-access, so importing it here would be a cycle).
const adminUrl = process.env['TEST_DATABASE_ADMIN_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const bytes = (...values: number[]) => new Uint8Array(values);

describe('DeviceRepository (real Postgres)', () => {
  let database: ScratchDatabase;
  let prisma: PrismaClient;
  let repository: DeviceRepository;

  beforeAll(async () => {
    database = await createScratchDatabase(adminUrl, 'sb_test_');
    await applyMigrations({ databaseUrl: database.url });
    prisma = createPrismaClient(database.url);
    repository = new DeviceRepository(prisma);
  });

  afterAll(async () => {
    await prisma.$disconnect();
    await database.drop();
  });

  beforeEach(async () => {
    await prisma.$executeRaw`TRUNCATE devices CASCADE`;
    await prisma.$executeRaw`TRUNCATE settings`;
  });

  async function snapshot(pageSize?: number) {
    const rows: DeviceAccessRow[] = [];
    const pages: number[] = [];
    const summary = await repository.loadAccessSnapshot(
      (page) => {
        pages.push(page.length);
        rows.push(...page);
      },
      { pageSize },
    );
    return { rows: new Map(rows.map((row) => [row.rustdeskId, row])), pages, summary };
  }

  it('streams every device with its admission, deny flags and uuid digest, page by page', async () => {
    await prisma.device.createMany({
      data: [
        { rustdeskId: 'ok001', uuid: bytes(1, 2, 3) },
        { rustdeskId: 'wait01', admission: 'pending' },
        { rustdeskId: 'nope01', admission: 'rejected' },
        { rustdeskId: 'ban001', banned: true, banReason: 'test' },
        { rustdeskId: 'del001', deletedAt: T0 },
        { rustdeskId: 'rev001', revokedAt: T0 },
        { rustdeskId: 'all001', admission: 'pending', banned: true, deletedAt: T0, revokedAt: T0 },
      ],
    });
    await prisma.setting.create({ data: { key: 'registration.policy', value: 'approval' } });

    const { rows, pages, summary } = await snapshot(3);

    expect(pages).toEqual([3, 3, 1]);
    expect(summary).toEqual({ devices: 7, registrationPolicy: 'approval' });
    const flags = (id: string) => {
      const row = rows.get(id);
      return row && [row.admission, row.banned, row.deleted, row.revoked];
    };
    expect(flags('ok001')).toEqual(['admitted', false, false, false]);
    expect(flags('wait01')).toEqual(['pending', false, false, false]);
    expect(flags('nope01')).toEqual(['rejected', false, false, false]);
    expect(flags('ban001')).toEqual(['admitted', true, false, false]);
    expect(flags('del001')).toEqual(['admitted', false, true, false]);
    expect(flags('rev001')).toEqual(['admitted', false, false, true]);
    expect(flags('all001')).toEqual(['pending', true, true, true]);
    // The digest Postgres computes is the one signal computes for an incoming uuid.
    expect(rows.get('ok001')?.uuidDigest).toBe(uuidDigest(bytes(1, 2, 3)));
    expect(rows.get('wait01')?.uuidDigest).toBeNull();
  });

  it('reads the whole snapshot as of one moment, even when rows change between pages', async () => {
    await prisma.$executeRaw`
      INSERT INTO devices (rustdesk_id) SELECT 'dev' || lpad(n::text, 5, '0') FROM generate_series(1, 100) AS n`;
    const other = createPrismaClient(database.url);
    try {
      let changed = false;
      const banned: string[] = [];
      const seen: string[] = [];
      const summary = await repository.loadAccessSnapshot(
        async (page) => {
          seen.push(...page.map((row) => row.rustdeskId));
          banned.push(...page.filter((row) => row.banned).map((row) => row.rustdeskId));
          if (changed) return;
          changed = true;
          // Committed by another connection while the snapshot is half read.
          await other.$executeRaw`UPDATE devices SET banned = true`;
          await other.$executeRaw`INSERT INTO devices (rustdesk_id) VALUES ('late01')`;
        },
        { pageSize: 10 },
      );
      expect(banned).toEqual([]);
      expect(seen).toHaveLength(100);
      expect(seen).not.toContain('late01');
      expect(summary.devices).toBe(100);
      // The writes did commit: the snapshot just predates them.
      expect(await prisma.device.count({ where: { banned: true } })).toBe(100);
    } finally {
      await other.$disconnect();
    }
  });

  it('loads 100,000 devices in one pass (timing printed, not asserted)', async () => {
    await prisma.$executeRaw`
      INSERT INTO devices (rustdesk_id, uuid, admission, banned)
      SELECT (100000000 + n)::text, decode(md5(n::text), 'hex'),
             CASE WHEN n % 10 = 0 THEN 'pending'::device_admission ELSE 'admitted' END, n % 100 = 0
      FROM generate_series(1, 100000) AS n`;
    await prisma.$executeRaw`ANALYZE devices`;

    let count = 0;
    let banned = 0;
    const started = performance.now();
    const summary = await repository.loadAccessSnapshot((page) => {
      count += page.length;
      for (const row of page) if (row.banned) banned += 1;
    });
    const elapsedMs = performance.now() - started;

    expect(summary.devices).toBe(100_000);
    expect(count).toBe(100_000);
    expect(banned).toBe(1_000);
    console.info(`access snapshot of 100,000 devices: ${elapsedMs.toFixed(0)} ms`);
  });

  describe('findIdentities', () => {
    it('reads the stored uuid, key and address of the ids asked for that have a uuid', async () => {
      await prisma.device.createMany({
        data: [
          { rustdeskId: 'id0001', uuid: bytes(1), pk: bytes(2), lastIp: '10.0.0.1' },
          { rustdeskId: 'id0002', uuid: bytes(3) },
          { rustdeskId: 'id0003' },
          { rustdeskId: 'other1', uuid: bytes(4), pk: bytes(4) },
        ],
      });

      const found = await repository.findIdentities(['id0001', 'id0002', 'id0003', 'absent']);

      expect(
        found
          .map((row) => [row.rustdeskId, [...row.uuid], row.pk && [...row.pk], row.lastIp])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      ).toEqual([
        ['id0001', [1], [2], '10.0.0.1'],
        ['id0002', [3], null, null],
      ]);
      expect(await repository.findIdentities([])).toEqual([]);
    });
  });

  describe('upsertRegistrations', () => {
    it('creates new devices with the admission it is told, in one statement per batch', async () => {
      const written = await repository.upsertRegistrations([
        {
          rustdeskId: 'new001',
          uuid: bytes(1),
          pk: bytes(9, 9),
          ip: '10.0.0.1',
          seenAt: at(1),
          admissionIfNew: 'admitted',
        },
        {
          rustdeskId: 'new002',
          uuid: bytes(2),
          pk: null,
          ip: null,
          seenAt: at(2),
          admissionIfNew: 'pending',
        },
      ]);

      expect(written).toBe(2);
      const rows = await prisma.device.findMany({ orderBy: { rustdeskId: 'asc' } });
      expect(
        rows.map((row) => [row.rustdeskId, row.admission, row.admittedBy, row.lastIp, row.lastSeenAt]),
      ).toEqual([
        ['new001', 'admitted', 'system:signal', '10.0.0.1', at(1)],
        ['new002', 'pending', null, null, at(2)],
      ]);
      expect(rows[0]?.admittedAt).toBeInstanceOf(Date);
      expect(Buffer.from(rows[0]?.pk ?? [])).toEqual(Buffer.from([9, 9]));
    });

    it('never un-bans, un-deletes, admits or overwrites admin fields of an existing device', async () => {
      await prisma.device.createMany({
        data: [
          {
            rustdeskId: 'ban001',
            banned: true,
            banReason: 'abuse',
            bannedBy: 'op',
            note: 'keep',
            hostname: 'h1',
          },
          { rustdeskId: 'del001', deletedAt: T0, pk: bytes(7) },
          { rustdeskId: 'wait01', admission: 'pending' },
          { rustdeskId: 'nope01', admission: 'rejected', revokedAt: T0 },
        ],
      });

      await repository.upsertRegistrations(
        ['ban001', 'del001', 'wait01', 'nope01'].map((rustdeskId) => ({
          rustdeskId,
          uuid: bytes(5),
          pk: rustdeskId === 'del001' ? null : bytes(6),
          ip: '10.0.0.2',
          seenAt: at(5),
          admissionIfNew: 'admitted' as const,
        })),
      );

      const rows = new Map((await prisma.device.findMany()).map((row) => [row.rustdeskId, row]));
      expect(rows.get('ban001')).toMatchObject({
        banned: true,
        banReason: 'abuse',
        bannedBy: 'op',
        note: 'keep',
        hostname: 'h1',
      });
      expect(rows.get('del001')?.deletedAt).toEqual(T0);
      expect(Buffer.from(rows.get('del001')?.pk ?? [])).toEqual(Buffer.from([7]));
      expect(rows.get('wait01')).toMatchObject({ admission: 'pending', admittedAt: null, admittedBy: null });
      expect(rows.get('nope01')).toMatchObject({ admission: 'rejected', revokedAt: T0 });
      // What the device reports about itself is updated.
      expect(rows.get('ban001')).toMatchObject({ lastIp: '10.0.0.2', lastSeenAt: at(5) });
      expect(Buffer.from(rows.get('ban001')?.uuid ?? [])).toEqual(Buffer.from([5]));
    });

    it('never replaces a stored uuid with another one, nor the key and address that came with it', async () => {
      const write = (uuid: Uint8Array, pk: Uint8Array, ip: string, seconds: number) => ({
        rustdeskId: 'own001',
        uuid,
        pk,
        ip,
        seenAt: at(seconds),
        admissionIfNew: 'admitted' as const,
      });
      await repository.upsertRegistrations([write(bytes(1), bytes(1), '10.0.0.1', 1)]);

      expect(await repository.upsertRegistrations([write(bytes(2), bytes(2), '10.6.6.6', 2)])).toBe(0);

      const row = await prisma.device.findUniqueOrThrow({ where: { rustdeskId: 'own001' } });
      expect(Buffer.from(row.uuid ?? [])).toEqual(Buffer.from([1]));
      expect(Buffer.from(row.pk ?? [])).toEqual(Buffer.from([1]));
      expect(row).toMatchObject({ lastIp: '10.0.0.1', lastSeenAt: at(1) });
      // The same machine still updates its row; a row without a uuid takes the first one.
      expect(await repository.upsertRegistrations([write(bytes(1), bytes(3), '10.0.0.2', 3)])).toBe(1);
      await prisma.device.create({ data: { rustdeskId: 'bare01' } });
      expect(
        await repository.upsertRegistrations([
          { ...write(bytes(4), bytes(4), '10.0.0.4', 4), rustdeskId: 'bare01' },
        ]),
      ).toBe(1);
    });

    it('never moves last_seen_at back, and lets the last write of an id in a batch win', async () => {
      await repository.upsertRegistrations([
        {
          rustdeskId: 'dev001',
          uuid: bytes(1),
          pk: bytes(1),
          ip: '10.0.0.1',
          seenAt: at(10),
          admissionIfNew: 'admitted',
        },
      ]);
      await repository.upsertRegistrations([
        {
          rustdeskId: 'dev001',
          uuid: bytes(1),
          pk: bytes(2),
          ip: '10.0.0.2',
          seenAt: at(3),
          admissionIfNew: 'admitted',
        },
        {
          rustdeskId: 'dev001',
          uuid: bytes(1),
          pk: bytes(3),
          ip: '10.0.0.3',
          seenAt: at(4),
          admissionIfNew: 'admitted',
        },
      ]);

      const row = await prisma.device.findUniqueOrThrow({ where: { rustdeskId: 'dev001' } });
      expect(row.lastSeenAt).toEqual(at(10));
      expect(row.lastIp).toBe('10.0.0.3');
      expect(Buffer.from(row.pk ?? [])).toEqual(Buffer.from([3]));
    });

    it('writes batches larger than one statement can carry', async () => {
      const batch = Array.from({ length: 12_345 }, (_, n) => ({
        rustdeskId: `bulk${n}`,
        uuid: bytes(n % 256),
        pk: bytes(1),
        ip: '10.0.0.1',
        seenAt: at(n),
        admissionIfNew: 'admitted' as const,
      }));
      expect(await repository.upsertRegistrations(batch)).toBe(12_345);
      expect(await prisma.device.count()).toBe(12_345);
    });

    it('writes a 20,000-row batch completely, every column of every row as given', async () => {
      // Half of the ids exist already, so the batch mixes inserts and conflict updates across
      // statement boundaries; nulls, empty and odd bytes and quotes test the array encoding.
      await prisma.$executeRaw`
        INSERT INTO devices (rustdesk_id, pk, last_ip, last_seen_at, admission, note)
        SELECT 'big' || n, '\\x07'::bytea, '10.9.9.9', ${at(0)}::timestamptz, 'pending', 'kept'
        FROM generate_series(0, 19998, 2) AS n`;
      const uuidOf = (n: number) => Buffer.from(`uuid-"\\{${n}},`.padEnd(36, 'x'));
      const pkOf = (n: number) => (n % 3 === 0 ? null : Buffer.from([n & 255, 0, 92, 34, (n >> 8) & 255]));
      const ipOf = (n: number) => (n % 5 === 0 ? null : `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`);
      const batch = Array.from({ length: 20_000 }, (_, n) => ({
        rustdeskId: `big${n}`,
        uuid: n === 7 ? new Uint8Array(0) : uuidOf(n),
        pk: pkOf(n),
        ip: ipOf(n),
        seenAt: at(n),
        admissionIfNew: n % 4 === 1 ? ('pending' as const) : ('admitted' as const),
      }));

      expect(await repository.upsertRegistrations(batch)).toBe(20_000);

      const rows = await prisma.device.findMany({ where: { rustdeskId: { startsWith: 'big' } } });
      expect(rows).toHaveLength(20_000);
      const byId = new Map(rows.map((row) => [row.rustdeskId, row]));
      const mismatches: string[] = [];
      for (let n = 0; n < 20_000; n += 1) {
        const row = byId.get(`big${n}`);
        const existed = n % 2 === 0;
        const expected = {
          uuid: n === 7 ? '' : uuidOf(n).toString('hex'),
          pk: pkOf(n)?.toString('hex') ?? (existed ? '07' : null),
          lastIp: ipOf(n) ?? (existed ? '10.9.9.9' : null),
          lastSeenAt: at(n).toISOString(),
          admission: existed ? 'pending' : n % 4 === 1 ? 'pending' : 'admitted',
          admittedBy: !existed && n % 4 !== 1 ? 'system:signal' : null,
          note: existed ? 'kept' : null,
        };
        const actual = row && {
          uuid: Buffer.from(row.uuid ?? []).toString('hex'),
          pk: row.pk === null ? null : Buffer.from(row.pk).toString('hex'),
          lastIp: row.lastIp,
          lastSeenAt: row.lastSeenAt?.toISOString(),
          admission: row.admission,
          admittedBy: row.admittedBy,
          note: row.note,
        };
        if (JSON.stringify(actual) !== JSON.stringify(expected))
          mismatches.push(`big${n}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
      }
      expect(mismatches.slice(0, 5)).toEqual([]);
    });
  });

  it('keeps nothing of the batches it has written (through Prisma, 100k rows pinned ~30 MiB)', async () => {
    const write = async (from: number, count: number) => {
      for (let start = from; start < from + count; start += 1_000) {
        const rows = Array.from({ length: 1_000 }, (_, i) => ({
          rustdeskId: String(100_000_000 + start + i),
          uuid: Buffer.from(String(start + i).padEnd(36, 'u')),
          pk: Buffer.alloc(32, i),
          ip: `10.1.${(i >> 8) & 255}.${i & 255}`,
          seenAt: at(i),
          admissionIfNew: 'admitted' as const,
        }));
        await repository.upsertRegistrations(rows);
        await repository.touchLastSeen(rows);
      }
    };
    await write(0, 5_000); // connections, plans and code warmed up before the baseline
    const baseline = heapAfterGc();
    await write(5_000, 100_000);
    const growth = heapAfterGc() - baseline;

    expect(await prisma.device.count()).toBe(105_000);
    expect(growth).toBeLessThan(8 * MiB);
  });

  describe('touchLastSeen', () => {
    it('moves last_seen_at forward only, keeps the address when none is given, skips unknown ids', async () => {
      await prisma.device.createMany({
        data: [
          { rustdeskId: 'dev001', lastSeenAt: at(10), lastIp: '10.0.0.1' },
          { rustdeskId: 'dev002', lastSeenAt: at(10), lastIp: '10.0.0.1' },
          { rustdeskId: 'dev003' },
        ],
      });

      const updated = await repository.touchLastSeen([
        { rustdeskId: 'dev001', ip: '10.0.0.9', seenAt: at(20) },
        { rustdeskId: 'dev002', ip: null, seenAt: at(5) },
        { rustdeskId: 'dev003', ip: '10.0.0.3', seenAt: at(30) },
        { rustdeskId: 'ghost1', ip: '10.0.0.4', seenAt: at(30) },
      ]);

      expect(updated).toBe(3);
      const rows = await prisma.device.findMany({ orderBy: { rustdeskId: 'asc' } });
      expect(rows.map((row) => [row.rustdeskId, row.lastSeenAt, row.lastIp])).toEqual([
        ['dev001', at(20), '10.0.0.9'],
        ['dev002', at(10), '10.0.0.1'],
        ['dev003', at(30), '10.0.0.3'],
      ]);
    });
  });

  describe('changeId', () => {
    it('renames, reports an unknown old id, and never takes an id another device holds', async () => {
      await prisma.device.createMany({
        data: [{ rustdeskId: 'old001', note: 'mine' }, { rustdeskId: 'held01' }],
      });

      expect(await repository.changeId('old001', 'held01')).toBe('taken');
      expect(await repository.changeId('ghost1', 'free01')).toBe('not-found');
      expect(await repository.changeId('old001', 'new001')).toBe('changed');

      const rows = await prisma.device.findMany({ orderBy: { rustdeskId: 'asc' } });
      expect(rows.map((row) => [row.rustdeskId, row.note])).toEqual([
        ['held01', null],
        ['new001', 'mine'],
      ]);
    });
  });

  it('finds one device and reads the registration policy setting', async () => {
    await prisma.device.create({ data: { rustdeskId: 'dev001', uuid: bytes(4), banned: true } });

    expect(await repository.findAccess('dev001')).toEqual({
      rustdeskId: 'dev001',
      admission: 'admitted',
      banned: true,
      deleted: false,
      revoked: false,
      uuidDigest: uuidDigest(bytes(4)),
    });
    expect(await repository.findAccess('ghost1')).toBeNull();
    expect(await repository.readRegistrationPolicy()).toBeUndefined();
    await prisma.setting.create({ data: { key: 'registration.policy', value: 'locked' } });
    expect(await repository.readRegistrationPolicy()).toBe('locked');
  });
});
