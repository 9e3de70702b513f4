// Client group tab benchmark (bench/README.md "client-group-tab"): a non-admin RustDesk client
// paging GET /api/peers over a fleet of BENCH_DEVICES visible devices, pageSize=100 as the client
// asks, against a bare Fastify route answering a page of the same size measured in the same run.
//   node -r @swc-node/register bench/client-group-tab.bench.ts
// The api is the real process (apps/e2e/src/support) on a scratch database and Redis prefix; the
// caller signs in through the real POST /api/login and sees the fleet through access rules only.
import { loadavg } from 'node:os';

import Fastify from 'fastify';

import { createPrismaClient } from '@switchboard/data-access';
import { createTestDatabase } from '@switchboard/testing';

import { startApi } from '../apps/e2e/src/support/api-process';

const DEVICES = positive('BENCH_DEVICES', 10_000);
const ROUNDS = positive('BENCH_ROUNDS', 3);
const PAGE_SIZE = 100;
const AIM_P99_MS = 50;

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

const ms = (value: number): string => `${value.toFixed(2)} ms`;

/** Times every page of `url` with the client's headers (bearer, no Content-Type), `ROUNDS` times. */
async function pageTimes(
  base: string,
  headers: Record<string, string>,
): Promise<{ samples: number[]; total: number }> {
  const samples: number[] = [];
  let total = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let current = 0;
    do {
      current += 1;
      const started = performance.now();
      const response = await fetch(`${base}?current=${current}&pageSize=${PAGE_SIZE}&accessible=&status=1`, {
        headers,
      });
      const body = (await response.json()) as { total: number; data: unknown[] };
      samples.push(performance.now() - started);
      if (response.status !== 200)
        throw new Error(`page ${current}: ${response.status} ${JSON.stringify(body)}`);
      if (current === 1) total = body.total;
    } while (current * PAGE_SIZE < total);
  }
  return { samples, total };
}

/** Times `count` GETs of one URL. */
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

/** The floor: Fastify answering a pre-built page of the same shape, over the same loopback. */
async function bareRoute(): Promise<{ url: string; close: () => Promise<void> }> {
  const page = {
    total: DEVICES,
    data: Array.from({ length: PAGE_SIZE }, (_, i) => ({
      id: `bench${String(i).padStart(6, '0')}`,
      info: { device_name: `host-${i}`, os: 'Windows / 11', username: 'someone' },
      status: 1,
      user: '00000000-0000-4000-8000-000000000000',
      user_name: 'owner-1',
      device_group_name: null,
      note: null,
    })),
  };
  const server = Fastify();
  server.get('/api/peers', (_request, reply) => reply.send(page));
  const address = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url: `${address}/api/peers`, close: () => server.close() };
}

async function seed(databaseUrl: string, viewerUsername: string): Promise<void> {
  const prisma = createPrismaClient(databaseUrl);
  try {
    const viewer = await prisma.user.findUniqueOrThrow({ where: { username: viewerUsername } });
    const [mine, owners, hidden] = await Promise.all(
      ['bench-mine', 'bench-owners', 'bench-hidden'].map((name) =>
        prisma.userGroup.create({ data: { name } }),
      ),
    );
    if (mine === undefined || owners === undefined || hidden === undefined) throw new Error('groups');
    const ownerIds: string[] = [];
    for (let i = 0; i < 40; i++) {
      const user = await prisma.user.create({
        data: { username: `bench-owner-${i}`, passwordHash: 'x', role: 'viewer' },
      });
      ownerIds.push(user.id);
      await prisma.userGroupMember.create({
        data: { userGroupId: i < 30 ? owners.id : hidden.id, userId: user.id },
      });
    }
    await prisma.userGroupMember.create({ data: { userGroupId: mine.id, userId: viewer.id } });
    await prisma.userGroupUserGroupAccess.create({
      data: { userGroupId: mine.id, targetUserGroupId: owners.id },
    });
    const kiosks = await prisma.deviceGroup.create({ data: { name: 'bench-kiosks' } });
    await prisma.userGroupDeviceGroupAccess.create({
      data: { userGroupId: mine.id, deviceGroupId: kiosks.id },
    });

    // Visible: 90% owned by the 30 owners of the granted group, 10% in the granted device group.
    // Hidden, as much again: owned by the other 10 users, or deleted.
    const rows = [];
    for (let i = 0; i < DEVICES; i++) {
      const inKiosks = i % 10 === 0;
      rows.push({
        rustdeskId: `v${String(i).padStart(8, '0')}`,
        hostname: `host-${i}`,
        os: 'Windows / 11',
        osUsername: 'someone',
        ownerId: inKiosks ? null : ownerIds[i % 30],
        groupId: inKiosks ? kiosks.id : null,
      });
    }
    for (let i = 0; i < DEVICES; i++) {
      rows.push({
        rustdeskId: `h${String(i).padStart(8, '0')}`,
        hostname: `hidden-${i}`,
        os: 'Linux',
        ownerId: ownerIds[30 + (i % 10)],
        ...(i % 5 === 0 ? { ownerId: ownerIds[i % 30], deletedAt: new Date() } : {}),
      });
    }
    for (let i = 0; i < rows.length; i += 5_000)
      await prisma.device.createMany({ data: rows.slice(i, i + 5_000) });
  } finally {
    await prisma.$disconnect();
  }
}

async function main(): Promise<void> {
  const prefix = `bench-group-tab-${process.pid}`;
  const database = await createTestDatabase();
  const api = await startApi({ DATABASE_URL: database.url, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const bare = await bareRoute();
  try {
    const adminAuthorization = `Bearer ${await api.adminToken()}`;
    const password = 'a long bench password 1';
    const created = await fetch(`${api.baseUrl}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: adminAuthorization, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench-viewer', password, role: 'viewer', passwordMustChange: false }),
    });
    if (created.status !== 201) throw new Error(`create user: ${created.status} ${await created.text()}`);
    await seed(database.url, 'bench-viewer');

    const login = await fetch(`${api.baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: 'bench-viewer',
        password,
        id: '123456789',
        uuid: 'YmVuY2g=',
        autoLogin: true,
        type: 'account',
        deviceInfo: { os: 'linux', type: 'client', name: 'bench' },
      }),
    });
    const { access_token: token } = (await login.json()) as { access_token?: string };
    if (token === undefined) throw new Error(`client login: ${login.status}`);
    const headers = { authorization: `Bearer ${token}` };

    process.stdout.write(
      `client group tab bench: ${DEVICES} visible devices (of ${DEVICES * 2}), pageSize ${PAGE_SIZE}, ${ROUNDS} rounds, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
    );
    await pageTimes(`${api.baseUrl}/api/peers`, headers); // warms pools, plans and JIT
    await pageTimes(bare.url, {});
    const peers = await pageTimes(`${api.baseUrl}/api/peers`, headers);
    if (peers.total !== DEVICES) throw new Error(`expected total ${DEVICES}, got ${peers.total}`);
    const floor = summary((await pageTimes(bare.url, {})).samples);
    // The same auth and framework with a one-row answer: what a page costs beyond the query.
    const authed = summary(await repeated(`${api.baseUrl}/api/device-group/accessible`, headers, 300));
    const page = summary(peers.samples);
    process.stdout.write(
      [
        `GET /api/peers (non-admin), per page  p50 ${ms(page.p50)}  p99 ${ms(page.p99)}  max ${ms(page.max)}   aim p99 < ${AIM_P99_MS} ms`,
        `reference: bare Fastify JSON route    p50 ${ms(floor.p50)}  p99 ${ms(floor.p99)}  max ${ms(floor.max)}`,
        `reference: device-group/accessible    p50 ${ms(authed.p50)}  p99 ${ms(authed.p99)}  max ${ms(authed.max)}   (same auth, one group)`,
        `pages timed: ${peers.samples.length}; load after: ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      ].join('\n') + '\n',
    );
  } finally {
    await bare.close();
    await api.stop();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
