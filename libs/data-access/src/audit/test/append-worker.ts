// Child process for audit.repository.int-spec.ts: appends entries to a shared chain from its own OS
// process, mixing group commit with appendInTransaction, so the test can prove the lock holds across
// processes. Run with `node -r @swc-node/register append-worker.ts '<json options>'`.
import { createInterface } from 'node:readline';

import { parseAuditKeyring } from '@switchboard/audit';

import { createPrismaClient } from '../../prisma-client';
import { AuditRepository } from '../audit.repository';

export interface AppendWorkerOptions {
  databaseUrl: string;
  /** Text form; its current key signs this worker's entries. */
  keyring: string;
  /** actorId of every entry, and prefix of the settings rows written alongside. */
  name: string;
  count: number;
  /** Every Nth entry goes through appendInTransaction with a settings write, the rest through append(). */
  inTransactionEvery: number;
  /** Operations in flight at once. */
  lanes: number;
}

export interface AppendWorkerReport {
  /** seq of each entry, indexed by its targetId. */
  seqs: string[];
  inTransaction: number;
}

async function main(options: AppendWorkerOptions): Promise<void> {
  const prisma = createPrismaClient(options.databaseUrl, {
    maxConnections: 6,
    applicationName: options.name,
  });
  const audit = new AuditRepository(prisma, { keyring: parseAuditKeyring(options.keyring) });
  try {
    await prisma.$queryRaw`SELECT 1`;
    process.stdout.write('ready\n');
    await waitForGo();

    const seqs: bigint[] = [];
    let next = 0;
    let inTransaction = 0;
    const lane = async () => {
      for (let index = next++; index < options.count; index = next++) {
        const entry = {
          actorType: 'worker',
          actorId: options.name,
          action: 'test.append',
          targetType: 'op',
          targetId: String(index),
          details: { worker: options.name, index },
        };
        if (index % options.inTransactionEvery === 0) {
          inTransaction++;
          seqs[index] = await prisma.$transaction(async (tx) => {
            await tx.setting.create({ data: { key: `${options.name}.${index}`, value: { index } } });
            const [chained] = await audit.appendInTransaction(tx, [entry]);
            if (chained === undefined) throw new Error('appendInTransaction returned no entry');
            return chained.seq;
          });
        } else {
          seqs[index] = await audit.append(entry);
        }
      }
    };
    await Promise.all(Array.from({ length: options.lanes }, lane));
    const report: AppendWorkerReport = { seqs: seqs.map(String), inTransaction };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await audit.close();
    await prisma.$disconnect();
  }
}

/** Both workers connect first and start together when the test writes a line, so they really overlap. */
function waitForGo(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  return new Promise((resolve) =>
    lines.once('line', () => {
      // Stop reading stdin, or its handle would keep this process alive after the work is done.
      lines.close();
      process.stdin.destroy();
      resolve();
    }),
  );
}

main(JSON.parse(process.argv[2] ?? '{}') as AppendWorkerOptions).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
