// Pulling a 10,000-peer address book the way the client does (POST /api/ab/peers, 100 per page,
// empty JSON body), against a bare Fastify JSON route answering a page of the same size, in one run.
//   node -r @swc-node/register bench/client-ab-pull.bench.ts
// Knobs: BENCH_PEERS (10000), BENCH_ROUNDS (5 full pulls), TEST_DATABASE_ADMIN_URL (where the
// temporary database is made). Needs the local Postgres and Redis. Target: p99 per page < 50 ms.
import { performance } from 'node:perf_hooks';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase } from '@switchboard/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { Client } from 'pg';

import { signInAs, startTestApp } from '../apps/api/test/api-test-harness';
import { clientLogin } from '../apps/api/test/client-login';
import { AddressBookSecrets } from '../apps/api/src/address-books/address-book-secrets';

const PAGE_SIZE = 100;

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(2).padStart(7);
  return `${label.padEnd(24)} pages ${String(samples.length).padStart(5)}  p50 ${f(percentile(sorted, 50))} ms  p99 ${f(percentile(sorted, 99))} ms  max ${f(sorted.at(-1) ?? NaN)} ms`;
}

async function timePages(
  pages: number,
  rounds: number,
  pull: (current: number) => Promise<void>,
): Promise<number[]> {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    for (let current = 1; current <= pages; current += 1) {
      const started = performance.now();
      await pull(current);
      samples.push(performance.now() - started);
    }
  }
  return samples;
}

async function main(): Promise<void> {
  const peers = positive('BENCH_PEERS', 10_000);
  const rounds = positive('BENCH_ROUNDS', 5);
  const pages = Math.ceil(peers / PAGE_SIZE);
  const database = await createTestDatabase();
  const app: NestFastifyApplication = await startTestApp({ DATABASE_URL: database.url, LOG_LEVEL: 'error' });
  const sql = new Client({ connectionString: database.url });
  const bare: FastifyInstance = Fastify();
  try {
    await sql.connect();
    const user = await signInAs(app, 'viewer');
    const headers = await clientHeaders(app, user);
    const personal = await app.inject({ method: 'POST', url: '/api/ab/personal', headers });
    const guid = personal.json<{ guid: string }>().guid;

    // 10,000 peers with every field set and a sealed hash, as a busy personal book holds them.
    const secrets = app.get(AddressBookSecrets);
    for (let start = 0; start < peers; start += 1_000) {
      const ids = Array.from(
        { length: Math.min(1_000, peers - start) },
        (_, i) => `${100_000_000 + start + i}`,
      );
      const hashes = ids.map((id) => secrets.sealPeer(guid, id, 'hash', `hash-of-${id}`));
      await sql.query(
        `INSERT INTO address_book_peers (address_book_id, rustdesk_id, hash_sealed, alias, username, hostname,
            platform, tags, note, rdp_port, updated_at)
         SELECT $1::uuid, id, hash, 'alias ' || id, 'user', 'host-' || id, 'Windows', ARRAY['office'],
                'a note', '3389', now()
           FROM unnest($2::text[], $3::bytea[]) AS t(id, hash)`,
        [guid, ids, hashes],
      );
    }

    const samplePage = (
      await app.inject({
        method: 'POST',
        url: `/api/ab/peers?current=1&pageSize=${PAGE_SIZE}&ab=${guid}`,
        headers,
      })
    ).json<unknown>();
    bare.post('/page', () => Promise.resolve(samplePage));
    await bare.ready();

    const pullReal = async (current: number) => {
      const response = await app.inject({
        method: 'POST',
        url: `/api/ab/peers?current=${current}&pageSize=${PAGE_SIZE}&ab=${guid}`,
        headers,
      });
      if (response.statusCode !== 200)
        throw new Error(`page ${current}: ${response.statusCode} ${response.body}`);
    };
    const pullBare = async () => {
      const response = await bare.inject({
        method: 'POST',
        url: '/page',
        // Stock Fastify refuses an empty JSON body (docs/client-api.md §0 item 3): no type here.
      });
      if (response.statusCode !== 200) throw new Error(`bare: ${response.statusCode}`);
    };

    await timePages(pages, 1, pullReal); // warm-up: plans, pools, JIT
    await timePages(pages, 1, pullBare);
    const real = await timePages(pages, rounds, pullReal);
    const baseline = await timePages(pages, rounds, async () => pullBare());

    console.log(`client address-book pull: ${peers} peers, ${pages} pages of ${PAGE_SIZE}, ${rounds} rounds`);
    console.log(summary('bare Fastify JSON route', baseline));
    console.log(summary('POST /api/ab/peers', real));
    const p99 = percentile(
      [...real].sort((a, b) => a - b),
      99,
    );
    console.log(
      p99 < 50
        ? `p99 ${p99.toFixed(2)} ms: within the 50 ms target`
        : `p99 ${p99.toFixed(2)} ms: OVER the 50 ms target`,
    );
  } finally {
    await bare.close();
    await sql.end();
    await app.close();
    await database.drop();
  }
}

/** The client's headers on the list calls: bearer, JSON content type, no body. */
async function clientHeaders(
  app: NestFastifyApplication,
  user: Awaited<ReturnType<typeof signInAs>>,
): Promise<Record<string, string>> {
  const token = await clientLogin(app, { username: user.user.username, password: user.password });
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': '0' };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
