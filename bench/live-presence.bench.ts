// The console live stream's polls at fleet size, against one console page load of the devices list.
//   node -r @swc-node/register bench/live-presence.bench.ts
// Needs the local Postgres (TEST_DATABASE_ADMIN_URL); a temporary database is created, migrated,
// seeded and dropped. Knobs (environment, read only here):
//   BENCH_ONLINE (100000)   devices seen within the online window
//   BENCH_OFFLINE (20000)   devices last seen a day ago
//   BENCH_POLLS (50)        polls timed per query
// What a presence poll costs (apps/api/src/live-events/sources/presence-watcher.ts: read the whole
// online set as one string, build a Set, diff it against the last) and an audit-tail poll, each
// against the reference: GET /api/v1/devices?online=true&limit=50's two queries (page and total).
// One presence poll runs per api replica every LIVE_PRESENCE_POLL_MS (2 s) while a console is connected.
import { performance } from 'node:perf_hooks';

import {
  createPrismaClient,
  DeviceAdminRepository,
  LiveFeedRepository,
  type PrismaClient,
} from '@switchboard/data-access';
import { createTestDatabase } from '@switchboard/testing';

import { diffPresence } from '../apps/api/src/live-events/sources/presence-watcher';

const env = process.env;
const positive = (name: string, fallback: number): number => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
};
const ONLINE = positive('BENCH_ONLINE', 100_000);
const OFFLINE = positive('BENCH_OFFLINE', 20_000);
const POLLS = positive('BENCH_POLLS', 50);
const WINDOW_MS = 90_000;

async function seed(prisma: PrismaClient): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO devices (rustdesk_id, hostname, last_seen_at)
    SELECT (100000000 + g)::text, 'host-' || g, now() - random() * interval '60 seconds'
    FROM generate_series(1, ${ONLINE}::int) AS g`;
  await prisma.$executeRaw`
    INSERT INTO devices (rustdesk_id, hostname, last_seen_at)
    SELECT (500000000 + g)::text, 'host-' || g, now() - interval '1 day' - random() * interval '1 day'
    FROM generate_series(1, ${OFFLINE}::int) AS g`;
  await prisma.$executeRawUnsafe('VACUUM ANALYZE devices');
}

/** Median and p95 of `polls` runs of `work`, in ms (after 3 warm-up runs). */
async function time(work: () => Promise<unknown>): Promise<{ median: number; p95: number }> {
  for (let warm = 0; warm < 3; warm += 1) await work();
  const samples: number[] = [];
  for (let poll = 0; poll < POLLS; poll += 1) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (share: number) =>
    samples[Math.min(samples.length - 1, Math.floor(samples.length * share))] ?? 0;
  return { median: at(0.5), p95: at(0.95) };
}

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const prisma = createPrismaClient(database.url);
  try {
    await seed(prisma);
    const feed = new LiveFeedRepository(prisma);
    const devices = new DeviceAdminRepository(prisma);
    const since = () => new Date(Date.now() - WINDOW_MS);

    let previous: ReadonlySet<string> = new Set(await feed.onlineDeviceIds(since()));
    let changes = 0;
    const presence = await time(async () => {
      const now = new Set(await feed.onlineDeviceIds(since()));
      const diff = diffPresence(previous, now);
      changes += diff.online.length + diff.offline.length;
      previous = now;
    });
    const lastSeq = await feed.lastAuditSeq();
    const audit = await time(() => feed.auditEntriesAfter(lastSeq, 201));
    const reference = await time(() =>
      devices.list(
        { online: true, onlineSince: since() },
        { sort: 'rustdeskId', order: 'asc' },
        undefined,
        50,
      ),
    );

    const line = (name: string, figures: { median: number; p95: number }) =>
      `${name.padEnd(42)} median ${figures.median.toFixed(2).padStart(7)} ms   p95 ${figures.p95.toFixed(2).padStart(7)} ms`;
    process.stdout.write(
      [
        `live stream polls: ${ONLINE} devices online, ${OFFLINE} offline, ${POLLS} polls each`,
        line('presence poll (online set + diff)', presence),
        line('audit tail poll (nothing new)', audit),
        line('reference: devices list page, online=true', reference),
        `presence poll / devices page load        ${(presence.median / reference.median).toFixed(2)}x`,
        `presence poll share of a 2 s interval     ${((presence.median / 2_000) * 100).toFixed(2)} %`,
        `(online set size ${previous.size}, changes seen while polling ${changes})`,
        '',
      ].join('\n'),
    );
  } finally {
    await prisma.$disconnect();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
