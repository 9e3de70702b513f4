// Client API heartbeat throughput and latency against a bare Fastify JSON echo, and a sysinfo storm.
//   node -r @swc-node/register bench/client-heartbeat.bench.ts
// Needs the local Postgres (TEST_DATABASE_ADMIN_URL) and Redis (REDIS_URL); a temporary database is
// created, migrated, seeded and dropped. Knobs (environment, read only here):
//   BENCH_DEVICES (2000)      simulated devices, each with its own id and uuid
//   BENCH_CONCURRENCY (16)    requests in flight, for the heartbeat and the echo phase alike
//   BENCH_SECONDS (10)        length of each of the two closed-loop phases
//   BENCH_STORM_RATE (170)    sysinfo posts per second in the storm (open loop)
//   BENCH_STORM_SECONDS (10)  length of the storm
// Goals (issue 12): heartbeat/echo throughput ratio >= 0.5 and heartbeat p99 < 20 ms; storm p99 < 50 ms
// with no errors. Heartbeat writes are batched (apps/api/src/device-sync/heartbeat-write-behind.ts),
// so the phase measures the read path plus the buffer.
import { Agent, request } from 'node:http';
import { type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createPrismaClient } from '@switchboard/data-access';
import { createTestDatabase } from '@switchboard/testing';
import Fastify from 'fastify';

import { startTestApp } from '../apps/api/test/api-test-harness';

const env = process.env;
const positive = (name: string, fallback: number): number => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
};
const DEVICES = positive('BENCH_DEVICES', 2000);
const CONCURRENCY = positive('BENCH_CONCURRENCY', 16);
const SECONDS = positive('BENCH_SECONDS', 10);
const STORM_RATE = positive('BENCH_STORM_RATE', 170);
const STORM_SECONDS = positive('BENCH_STORM_SECONDS', 10);

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });

function post(port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface PhaseResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
}

/** `CONCURRENCY` loops, each sending its next request when the previous one is answered. */
async function closedLoop(seconds: number, send: (n: number) => Promise<number>): Promise<PhaseResult> {
  const latenciesMs: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const at = performance.now();
        const status = await send(next++).catch(() => 0);
        latenciesMs.push(performance.now() - at);
        if (status !== 200) errors += 1;
      }
    }),
  );
  return { requests: latenciesMs.length, errors, seconds: (performance.now() - started) / 1000, latenciesMs };
}

/** A fixed rate whatever the answers' speed, as a fleet restarting at once would send. */
async function openLoop(
  rate: number,
  seconds: number,
  send: (n: number) => Promise<number>,
): Promise<PhaseResult> {
  const latenciesMs: number[] = [];
  let errors = 0;
  const total = rate * seconds;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let n = 0; n < total; n += 1) {
    const due = started + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const at = performance.now();
    inFlight.push(
      send(n)
        .catch(() => 0)
        .then((status) => {
          latenciesMs.push(performance.now() - at);
          if (status !== 200) errors += 1;
        }),
    );
  }
  await Promise.all(inFlight);
  return { requests: total, errors, seconds: (performance.now() - started) / 1000, latenciesMs };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function describe(name: string, result: PhaseResult): number {
  const rate = result.requests / result.seconds;
  console.log(
    `${name.padEnd(10)} ${rate.toFixed(0).padStart(7)} req/s  p50 ${percentile(result.latenciesMs, 50).toFixed(2)} ms` +
      `  p99 ${percentile(result.latenciesMs, 99).toFixed(2)} ms  errors ${result.errors}/${result.requests}`,
  );
  return rate;
}

const uuidOf = (n: number): string => Buffer.from(`bench-machine-${n}`).toString('base64');
const idOf = (n: number): string => String(100_000_000 + n);

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const prisma = createPrismaClient(database.url);
  let app: NestFastifyApplication | undefined;
  const echo = Fastify();
  try {
    await prisma.$executeRaw`INSERT INTO devices (rustdesk_id, uuid, pk, updated_at)
      SELECT (100000000 + n)::text, convert_to('bench-machine-' || n, 'UTF8'), '\\x00'::bytea, now()
      FROM generate_series(0, ${DEVICES - 1}::int) AS n`;
    app = await startTestApp({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const apiPort = (app.getHttpServer().address() as AddressInfo).port;
    echo.post('/echo', (req, reply) => reply.send(req.body));
    await echo.listen({ port: 0, host: '127.0.0.1' });
    const echoPort = (echo.server.address() as AddressInfo).port;

    const heartbeat = (n: number): string => {
      const device = n % DEVICES;
      return JSON.stringify({
        id: idOf(device),
        uuid: uuidOf(device),
        ver: 1004090,
        ...(n % 4 === 0 ? { conns: [n % 1000] } : {}),
        modified_at: 0,
      });
    };
    const sysinfo = (n: number): string => {
      const device = n % DEVICES;
      return JSON.stringify({
        cpu: 'Intel(R) Xeon(R) CPU @ 2.20GHz, 2.20GHz, 4/2 cores',
        memory: '7.77GB',
        os: `ubuntu / Linux 22.04 Ubuntu`,
        hostname: `host-${device}-${n}`,
        username: 'bench',
        version: '1.4.9',
        id: idOf(device),
        uuid: uuidOf(device),
      });
    };

    console.log(
      `client heartbeat bench: ${DEVICES} devices, ${CONCURRENCY} in flight, ${SECONDS} s per phase, node ${process.version}`,
    );
    // Warm both paths (JIT) and give every device its first heartbeat, as a running fleet has had:
    // the measured phase then sees the steady state, where a device's identity is usually cached.
    let warmed = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let n = warmed++; n < DEVICES; n = warmed++) await post(apiPort, '/api/heartbeat', heartbeat(n));
      }),
    );
    await closedLoop(1, (n) => post(echoPort, '/echo', heartbeat(n)));

    const echoRate = describe(
      'echo',
      await closedLoop(SECONDS, (n) => post(echoPort, '/echo', heartbeat(n))),
    );
    const heartbeatResult = await closedLoop(SECONDS, (n) => post(apiPort, '/api/heartbeat', heartbeat(n)));
    const heartbeatRate = describe('heartbeat', heartbeatResult);
    const storm = await openLoop(STORM_RATE, STORM_SECONDS, (n) => post(apiPort, '/api/sysinfo', sysinfo(n)));
    describe('sysinfo', storm);

    const ratio = heartbeatRate / echoRate;
    const heartbeatP99 = percentile(heartbeatResult.latenciesMs, 99);
    const stormP99 = percentile(storm.latenciesMs, 99);
    console.log(`ratio heartbeat/echo ${ratio.toFixed(2)} (goal >= 0.5)`);
    console.log(`heartbeat p99 ${heartbeatP99.toFixed(2)} ms (goal < 20 ms)`);
    console.log(`sysinfo storm p99 ${stormP99.toFixed(2)} ms, errors ${storm.errors} (goal < 50 ms, none)`);
    const [written] = await prisma.$queryRaw<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM device_sync_states WHERE last_heartbeat_at IS NOT NULL`;
    console.log(`devices with a stored heartbeat: ${Number(written?.n ?? 0)} of ${DEVICES}`);
  } finally {
    agent.destroy();
    await echo.close();
    await app?.close();
    await prisma.$disconnect();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
