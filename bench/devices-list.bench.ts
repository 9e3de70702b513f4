// Device list benchmark (bench/README.md "devices-list"): the console's Devices page at BENCH_DEVICES
// devices, every filter it offers under every sort and order, paged with the cursors the api hands
// out, over HTTP against the real api process, with one device's details (a primary-key lookup
// through the same authentication and framework) measured in the same run as the reference.
//   node -r @swc-node/register bench/devices-list.bench.ts
import { loadavg } from 'node:os';

import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { createTestDatabase } from '@switchboard/testing';

import { startApi } from '../apps/e2e/src/support/api-process';

const DEVICES = positive('BENCH_DEVICES', 100_000);
const ROUNDS = positive('BENCH_ROUNDS', 3);
const PAGES = positive('BENCH_PAGES', 3);
const PAGE_SIZE = 50;
const AIM_P99_MS = 100;

const SORTS = ['rustdeskId', 'hostname', 'os', 'lastSeenAt', 'createdAt'] as const;
const ORDERS = ['asc', 'desc'] as const;

/** The console's filters, alone and in the pairs an operator is likely to combine. */
const FILTERS: readonly (readonly [label: string, query: string])[] = [
  ['(none)', ''],
  ['online', 'online=true'],
  ['offline', 'online=false'],
  ['banned', 'banned=true'],
  ['pending', 'admission=pending'],
  ['rejected', 'admission=rejected'],
  ['os=windows', 'os=windows'],
  ['os=ios', 'os=ios'],
  ['os=unknown', 'os=unknown'],
  ['tag (30%)', 'tag=prod'],
  ['tag (1%)', 'tag=lab'],
  ['group', 'group=group-07'],
  ['group (empty)', 'group=group-20'],
  ['deleted', 'deleted=true'],
  ['q rare', 'q=qz9'],
  ['q host', 'q=host-0042'],
  ['q common', 'q=desk'],
  ['q 2 chars', 'q=k7'],
  ['q os user', 'q=user-1234'],
  ['q owner', 'q=owner-7'],
  ['q note', 'q=rack'],
  ['linux+online', 'os=linux&online=true'],
  ['pending+android', 'admission=pending&os=android'],
  ['group+banned', 'group=group-03&banned=true'],
  ['tag+offline', 'tag=kiosk&online=false'],
];

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function summary(samples: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((x, y) => x - y);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

const ms = (value: number): string => `${value.toFixed(1).padStart(6)} ms`;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/**
 * The fleet, straight in Postgres: OS strings as RustDesk reports them (windows 45 %, linux 25 %,
 * macos 15 %, android 8 %, ios 4 %, other 2 %, none 1 %), 2 % without a hostname, tags prod 30 %,
 * kiosk 5 %, lab 1 %, 20 groups holding 70 % and one empty, 50 owners holding 60 %, admission pending 8 % and
 * rejected 2 %, banned 1 %, deleted 3 %, online 5 %, never seen 15 %, notes on 10 %.
 */
/** BENCH_DEVICES devices of every kind the filters tell apart; also seeds console-devices-page.bench.ts. */
export async function seed(prisma: PrismaClient): Promise<void> {
  await prisma.$executeRawUnsafe(`
    INSERT INTO device_groups (name) SELECT 'group-' || lpad(g::text, 2, '0') FROM generate_series(0, 20) g`);
  await prisma.$executeRawUnsafe(`
    INSERT INTO users (username, password_hash, role, updated_at)
    SELECT 'owner-' || u, 'x', 'viewer', now() FROM generate_series(0, 49) u`);
  await prisma.$executeRawUnsafe(`
    WITH g AS (SELECT array_agg(id ORDER BY name) AS ids FROM device_groups),
         o AS (SELECT array_agg(id ORDER BY username) AS ids FROM users WHERE username LIKE 'owner-%')
    INSERT INTO devices (rustdesk_id, hostname, os, os_username, note, tags, group_id, owner_id,
                         admission, banned, ban_reason, deleted_at, last_seen_at, created_at, version)
    SELECT (100000000 + n)::text,
           CASE WHEN n % 50 = 7 THEN NULL
                WHEN n % 3 = 0 THEN 'desk-' || lpad((n % 5000)::text, 4, '0')
                ELSE 'host-' || substr(md5(n::text), 1, 10) END,
           CASE WHEN n % 100 < 45 THEN 'Windows / Windows 1' || (n % 2) || ' Pro'
                WHEN n % 100 < 70 THEN 'Linux / ' || (ARRAY['Ubuntu 22.04', 'Debian 12', 'Fedora 39'])[n % 3 + 1]
                WHEN n % 100 < 85 THEN 'Mac OS / 14.' || (n % 5)
                WHEN n % 100 < 93 THEN 'Android / 1' || (n % 4)
                WHEN n % 100 < 97 THEN 'iOS / 17.' || (n % 3)
                WHEN n % 100 < 99 THEN 'FreeBSD 14.0'
                ELSE NULL END,
           'user-' || (n % 20000),
           CASE WHEN n % 10 = 0 THEN 'rack ' || (n % 400) || ', ' || substr(md5(n::text || 'x'), 1, 8) END,
           CASE WHEN n % 10 < 3 THEN ARRAY['prod'] ELSE ARRAY[]::text[] END
             || CASE WHEN n % 20 = 1 THEN ARRAY['kiosk'] ELSE ARRAY[]::text[] END
             || CASE WHEN n % 100 = 2 THEN ARRAY['lab'] ELSE ARRAY[]::text[] END,
           CASE WHEN n % 10 < 7 THEN g.ids[(n / 10) % 20 + 1] END,
           CASE WHEN n % 5 < 3 THEN o.ids[n % 50 + 1] END,
           (CASE WHEN n % 100 < 8 THEN 'pending' WHEN n % 100 < 10 THEN 'rejected' ELSE 'admitted' END)::device_admission,
           n % 100 = 42, CASE WHEN n % 100 = 42 THEN 'bench' END,
           CASE WHEN n % 100 IN (13, 57, 91) THEN now() - interval '2 days' END,
           CASE WHEN n % 20 = 3 THEN now() - (n % 60) * interval '1 second'
                WHEN n % 100 < 85 THEN now() - (n % 43200) * interval '1 minute'
                ELSE NULL END,
           now() - (n % 525600) * interval '1 minute',
           '1.4.' || (n % 3)
    FROM generate_series(1, ${DEVICES}) AS n, g, o`);
  await prisma.$executeRawUnsafe('VACUUM ANALYZE devices');
}

interface Page {
  items: { id: string }[];
  nextCursor: string | null;
}

/** `PAGES` consecutive pages of one listing, each timed; the cursors come from the answers. */
async function walk(base: string, query: string, headers: Record<string, string>): Promise<number[]> {
  const samples: number[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < PAGES; page++) {
    const url = `${base}?limit=${PAGE_SIZE}${query === '' ? '' : `&${query}`}${cursor === null ? '' : `&cursor=${cursor}`}`;
    const started = performance.now();
    const response = await fetch(url, { headers });
    const body = (await response.json()) as Page;
    samples.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
    cursor = body.nextCursor;
    if (cursor === null) break;
  }
  return samples;
}

async function repeated(url: string, headers: Record<string, string>, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    samples.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  }
  return samples;
}

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const api = await startApi({
    DATABASE_URL: database.url,
    REDIS_KEY_PREFIX: `bench-devices-list-${process.pid}`,
    LOG_LEVEL: 'warn',
  });
  const prisma = createPrismaClient(database.url);
  try {
    const seedStarted = performance.now();
    await seed(prisma);
    const seeded = ((performance.now() - seedStarted) / 1000).toFixed(1);
    const headers = { authorization: `Bearer ${await api.adminToken()}` };
    const base = `${api.baseUrl}/api/v1/devices`;
    process.stdout.write(
      `devices list bench: ${DEVICES} devices (seeded in ${seeded} s), ${FILTERS.length} filters × ` +
        `${SORTS.length} sorts × 2 orders, ${PAGES} pages of ${PAGE_SIZE} each, ${ROUNDS} rounds, load ${load()}\n`,
    );

    // Warm-up: every combination once (plans, pools, JIT, buffer cache).
    for (const [, filter] of FILTERS)
      for (const sort of SORTS)
        for (const order of ORDERS) await walk(base, `${filter}&sort=${sort}&order=${order}`, headers);

    const byCombination = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [label, filter] of FILTERS) {
        for (const sort of SORTS) {
          for (const order of ORDERS) {
            const key = `${label.padEnd(16)} ${`${sort} ${order}`.padEnd(16)}`;
            const samples = await walk(base, `${filter}&sort=${sort}&order=${order}`, headers);
            byCombination.set(key, [...(byCombination.get(key) ?? []), ...samples]);
          }
        }
      }
    }
    const reference = summary(await repeated(`${base}/100000042`, headers, 300));
    const totals: number[] = [];
    for (const [, filter] of FILTERS)
      totals.push(
        ...(await repeated(`${base}?limit=${PAGE_SIZE}&withTotal=true&${filter}`, headers, ROUNDS)),
      );
    const withTotal = summary(totals);

    const rows = [...byCombination].map(([key, samples]) => ({
      key,
      ...summary(samples),
      n: samples.length,
    }));
    const all = summary([...byCombination.values()].flat());
    const lines = rows.map((row) => `${row.key} p50 ${ms(row.p50)}  p99 ${ms(row.p99)}`);
    const worst = [...rows].sort((a, b) => b.p99 - a.p99).slice(0, 10);
    const byFilter = FILTERS.map(([label]) => {
      const mine = rows.filter((row) => row.key.startsWith(label.padEnd(16)));
      const top = mine.reduce((a, b) => (b.p99 > a.p99 ? b : a));
      return `${label.padEnd(16)} worst p99 ${ms(top.p99)} (${top.key.slice(17).trim()})`;
    });
    process.stdout.write(
      [
        ...lines,
        '',
        'worst ten (filter, sort, order):',
        ...worst.map((row) => `  ${row.key} p50 ${ms(row.p50)}  p99 ${ms(row.p99)}  max ${ms(row.max)}`),
        '',
        'worst per filter:',
        ...byFilter.map((line) => `  ${line}`),
        '',
        `all pages (${[...byCombination.values()].flat().length})        p50 ${ms(all.p50)}  p99 ${ms(all.p99)}  max ${ms(all.max)}`,
        `worst combination p99     ${ms(worst[0]?.p99 ?? NaN)}   aim < ${AIM_P99_MS} ms`,
        `reference: GET /devices/:id  p50 ${ms(reference.p50)}  p99 ${ms(reference.p99)}  (same auth and framework, primary-key lookup)`,
        `ratio worst p99 / reference p99  ${((worst[0]?.p99 ?? NaN) / reference.p99).toFixed(1)}x`,
        `first page with withTotal=true (every filter)  p50 ${ms(withTotal.p50)}  p99 ${ms(withTotal.p99)}`,
        `load after: ${load()}`,
      ].join('\n') + '\n',
    );
  } finally {
    await prisma.$disconnect();
    await api.stop();
    await database.drop();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
