// Client audit ingest: connection records per second and p99 latency over HTTP, against a bare
// Fastify JSON route measured in the same run.
//   node -r @swc-node/register bench/client-audit-ingest.bench.ts
// Knobs (environment, read only here): BENCH_CALLERS (64 concurrent keep-alive callers),
// BENCH_RECORDS (20000 per target, after 1000 warm-up), BENCH_DEVICES (200), BENCH_RETRY_PERCENT (10:
// share of posts that repeat the previous record with its nonce, as a client's retry does).
// A temporary database is created, migrated and dropped; Redis is the one at REDIS_URL.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createPrismaClient } from '@switchboard/data-access';
import { createTestDatabase } from '@switchboard/testing';
import Fastify from 'fastify';

import { startTestApp } from '../apps/api/test/api-test-harness';

const positive = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
};
const CALLERS = positive('BENCH_CALLERS', 64);
const RECORDS = positive('BENCH_RECORDS', 20_000);
const DEVICES = positive('BENCH_DEVICES', 200);
const RETRY_PERCENT = positive('BENCH_RETRY_PERCENT', 10);
const WARMUP = 1_000;

interface Result {
  records: number;
  seconds: number;
  latenciesMs: number[];
  failures: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: CALLERS });

function post(port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Each caller plays connections one after another: open, authorised, close (posted in that order,
 * as the client's per-connection queue does), now and then repeating a record with its nonce.
 */
async function run(
  port: number,
  path: string,
  total: number,
  devices: { id: string; uuid: string }[],
): Promise<Result> {
  let next = 0;
  let failures = 0;
  const latenciesMs: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async (_unused, caller) => {
      let step = 0;
      let previous = '';
      let session = '';
      let connId = 0;
      let device = devices[caller % devices.length]!;
      while (next++ < total) {
        let body: string;
        if (previous !== '' && Math.random() * 100 < RETRY_PERCENT) {
          body = previous;
        } else {
          if (step % 3 === 0) {
            device = devices[Math.floor(Math.random() * devices.length)]!;
            // A random u64, as the client draws it, spelled as a bare integer.
            session = BigInt.asUintN(
              64,
              BigInt(`0x${randomUUID().replaceAll('-', '').slice(0, 16)}`),
            ).toString();
            connId += 1;
          }
          const fields =
            step % 3 === 0
              ? '"ip":"192.0.2.10","action":"new"'
              : step % 3 === 1
                ? '"peer":["987654321","bench"],"type":0,"primary_auth":3'
                : '"action":"close"';
          body = `{"id":"${device.id}","uuid":"${device.uuid}","conn_id":${connId},"session_id":${session},"nonce":"${randomUUID()}",${fields}}`;
          step += 1;
        }
        previous = body;
        const sent = performance.now();
        const response = await post(port, path, body);
        latenciesMs.push(performance.now() - sent);
        if (response.status !== 200 || response.body !== '') failures += 1;
      }
    }),
  );
  return { records: total, seconds: (performance.now() - started) / 1000, latenciesMs, failures };
}

function format(label: string, result: Result): string {
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return (
    `${label.padEnd(26)} ${(result.records / result.seconds).toFixed(0).padStart(7)} records/s ` +
    `p50 ${p(0.5).toFixed(2)} ms  p99 ${p(0.99).toFixed(2)} ms  ` +
    `(${result.records} in ${result.seconds.toFixed(2)} s, ${result.failures} failed)`
  );
}

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const prisma = createPrismaClient(database.url);
  let app: NestFastifyApplication | undefined;
  const bare = Fastify({ logger: false });
  try {
    const devices = Array.from({ length: DEVICES }, (_unused, index) => ({
      id: String(100_000_000 + index),
      uuidBytes: Buffer.from(`bench-machine-${index}`),
    }));
    await prisma.device.createMany({ data: devices.map((d) => ({ rustdeskId: d.id, uuid: d.uuidBytes })) });
    const identities = devices.map((d) => ({ id: d.id, uuid: d.uuidBytes.toString('base64') }));

    app = await startTestApp({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' });
    await app.listen(0, '127.0.0.1');
    const apiPort = (app.getHttpServer().address() as AddressInfo).port;

    // The floor: Fastify parsing the same JSON and answering an empty 200, nothing stored.
    bare.post('/api/audit/conn', async (_request, reply) => reply.code(200).send());
    await bare.listen({ port: 0, host: '127.0.0.1' });
    const barePort = (bare.server.address() as AddressInfo).port;

    await run(barePort, '/api/audit/conn', WARMUP, identities);
    await run(apiPort, '/api/audit/conn', WARMUP, identities);
    const floor = await run(barePort, '/api/audit/conn', RECORDS, identities);
    const ingest = await run(apiPort, '/api/audit/conn', RECORDS, identities);

    const [rows] = await prisma.$queryRaw<{ connections: bigint; nonces: bigint }[]>`
      SELECT count(*) AS connections, sum(cardinality(nonces)) AS nonces FROM connection_audits`;
    console.log(
      `client audit ingest bench: ${CALLERS} callers, ${RECORDS} records per target, ${DEVICES} devices, ` +
        `${RETRY_PERCENT}% retried`,
    );
    console.log(format('bare Fastify JSON route', floor));
    console.log(format('POST /api/audit/conn', ingest));
    console.log(
      `stored: ${rows?.connections ?? 0} connection rows, ${rows?.nonces ?? 0} distinct records ` +
        `(retries applied once)`,
    );
  } finally {
    agent.destroy();
    await bare.close();
    await app?.close();
    await prisma.$disconnect();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
