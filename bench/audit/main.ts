// Audit append throughput: one transaction per append vs group commit, measured in one run.
//   node -r @swc-node/register bench/audit/main.ts
// See bench/README.md for the knobs (environment variables, read only here).
import { performance } from 'node:perf_hooks';

import { createAuditKeyring, generateAuditKey } from '@switchboard/audit';
import { AuditRepository, createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

interface BenchOptions {
  /** Existing migrated database with an empty audit_entries; unset = a temporary one. */
  databaseUrl: string | undefined;
  callers: number;
  appendsPerMode: number;
  poolSize: number;
}

function readOptions(env: NodeJS.ProcessEnv): BenchOptions {
  const positive = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
    return value;
  };
  return {
    databaseUrl: env['DATABASE_URL'] || undefined,
    callers: positive('BENCH_CALLERS', 32),
    appendsPerMode: positive('BENCH_APPENDS', 4000),
    poolSize: positive('BENCH_POOL_SIZE', 10),
  };
}

interface ModeResult {
  appends: number;
  seconds: number;
  transactions: number;
}

/** Runs `callers` concurrent loops that together perform `total` appends, each awaiting its own. */
async function runCallers(callers: number, total: number, appendOne: (index: number) => Promise<unknown>) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let index = next++; index < total; index = next++) await appendOne(index);
    }),
  );
  return (performance.now() - started) / 1000;
}

async function transactionsSince(prisma: PrismaClient, afterSeq: bigint): Promise<number> {
  // Rows written by one transaction share its xmin.
  const [row] = await prisma.$queryRaw<{ n: bigint }[]>`
    SELECT count(DISTINCT xmin::text) AS n FROM audit_entries WHERE seq > ${afterSeq}`;
  return Number(row?.n ?? 0);
}

async function headSeq(prisma: PrismaClient): Promise<bigint> {
  const head = await prisma.auditEntry.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
  return head?.seq ?? 0n;
}

async function measure(
  prisma: PrismaClient,
  options: BenchOptions,
  appendOne: (index: number) => Promise<unknown>,
): Promise<ModeResult> {
  const before = await headSeq(prisma);
  const seconds = await runCallers(options.callers, options.appendsPerMode, appendOne);
  return { appends: options.appendsPerMode, seconds, transactions: await transactionsSince(prisma, before) };
}

function formatResult(label: string, result: ModeResult): string {
  const rate = result.appends / result.seconds;
  const perBatch = result.appends / result.transactions;
  return (
    `${label.padEnd(30)} ${rate.toFixed(0).padStart(7)} appends/s ` +
    `(${result.appends} in ${result.seconds.toFixed(2)} s, ${result.transactions} transactions, ` +
    `${perBatch.toFixed(1)} entries each)`
  );
}

async function bench(options: BenchOptions, databaseUrl: string): Promise<void> {
  const prisma = createPrismaClient(databaseUrl, {
    maxConnections: options.poolSize,
    applicationName: 'audit-bench',
  });
  const audit = new AuditRepository(prisma, {
    keyring: createAuditKeyring([{ keyId: 'bench', key: generateAuditKey() }]),
  });
  try {
    if ((await headSeq(prisma)) !== 0n)
      throw new Error('audit_entries is not empty: point DATABASE_URL at a scratch database');
    const entry = (mode: string, index: number) => ({
      actorType: 'user',
      actorId: `bench-${index % options.callers}`,
      action: `bench.${mode}`,
      targetType: 'device',
      targetId: String(100_000_000 + index),
      ip: '192.0.2.1',
      details: { index, mode, reason: 'benchmark' },
    });
    const single = (mode: string) => (index: number) =>
      prisma.$transaction((tx) => audit.appendInTransaction(tx, [entry(mode, index)]), {
        maxWait: 30_000,
        timeout: 30_000,
      });
    const grouped = (mode: string) => (index: number) => audit.append(entry(mode, index));

    // Warm up connections, JIT and the table's first pages before timing either mode.
    await runCallers(options.callers, 200, single('warmup'));
    await runCallers(options.callers, 200, grouped('warmup'));

    const serverVersion = await prisma.$queryRaw<
      { v: string }[]
    >`SELECT current_setting('server_version') AS v`;
    console.log(
      `audit append bench: ${options.callers} concurrent callers, ${options.appendsPerMode} appends per mode, ` +
        `pool ${options.poolSize}, Postgres ${serverVersion[0]?.v ?? '?'}`,
    );
    const singleResult = await measure(prisma, options, single('single'));
    console.log(formatResult('one transaction per append', singleResult));
    const groupedResult = await measure(prisma, options, grouped('grouped'));
    console.log(formatResult('group commit (append)', groupedResult));
    const ratio = singleResult.seconds / groupedResult.seconds;
    console.log(`${'ratio'.padEnd(30)} ${ratio.toFixed(1).padStart(7)}x`);

    const started = performance.now();
    const verified = await audit.verify();
    const seconds = (performance.now() - started) / 1000;
    if (!verified.ok) throw new Error(`chain broken at seq ${verified.brokenSeq}: ${verified.reason}`);
    console.log(
      `${'verify (pages of 1000)'.padEnd(30)} ${(verified.count / seconds).toFixed(0).padStart(7)} entries/s ` +
        `(${verified.count} entries in ${seconds.toFixed(2)} s, ok)`,
    );
  } finally {
    await audit.close();
    await prisma.$disconnect();
  }
}

async function main(): Promise<void> {
  const options = readOptions(process.env);
  let temporary: TestDatabase | undefined;
  try {
    if (options.databaseUrl === undefined) temporary = await createTestDatabase();
    await bench(options, options.databaseUrl ?? temporary?.url ?? '');
  } finally {
    await temporary?.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
