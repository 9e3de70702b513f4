import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';

import {
  type AuditCheckpoint,
  type AuditEntry,
  type CheckpointReading,
  createAuditKeyring,
  signChainHead,
  signCheckpoint,
  formatAuditKeyring,
  InvalidAuditEntryError,
  verifyAuditChain,
} from '@switchboard/audit';

import { createScratchDatabase, type ScratchDatabase } from '../migrations/database-admin';
import { applyMigrations } from '../migrations/migration-runner';
import { createPrismaClient, type PrismaClient } from '../prisma-client';
import {
  AuditIsolationError,
  AuditRepository,
  AuditRepositoryClosedError,
  InvalidAuditCursorError,
} from './audit.repository';
import { type AppendWorkerOptions, type AppendWorkerReport } from './test/append-worker';

jest.setTimeout(120_000);

const REPO_ROOT = resolve(__dirname, '../../../..');
const WORKER = join(__dirname, 'test', 'append-worker.ts');
const PER_WORKER = 500;

const oldKey = { keyId: 'k1', key: Buffer.alloc(32, 0x11) };
const newKey = { keyId: 'k2', key: Buffer.alloc(32, 0x22) };
const oldKeyring = createAuditKeyring([oldKey]);
/** After rotation: k2 signs, k1 only verifies. */
const rotatedKeyring = createAuditKeyring([oldKey, newKey]);

interface RunningWorker {
  ready: Promise<void>;
  report: Promise<AppendWorkerReport>;
  go(): void;
}

const children: ChildProcessWithoutNullStreams[] = [];

function startWorker(options: AppendWorkerOptions): RunningWorker {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', WORKER, JSON.stringify(options)], {
    cwd: REPO_ROOT,
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolveReady) => (onReady = resolveReady));
  let reportLine = '';
  lines.on('line', (line) => {
    if (line === 'ready') onReady();
    else reportLine = line;
  });
  const report = new Promise<AppendWorkerReport>((resolveReport, rejectReport) => {
    child.on('error', rejectReport);
    child.on('close', (code) => {
      if (code === 0 && reportLine !== '') resolveReport(JSON.parse(reportLine) as AppendWorkerReport);
      else rejectReport(new Error(`worker ${options.name} exited with ${code}: ${stderr}`));
    });
  });
  // A worker that dies before it is ready must fail the test rather than hang it.
  return {
    ready: Promise.race([ready, report.then(() => undefined)]),
    report,
    go: () => child.stdin.end('go\n'),
  };
}

const newEntry = (overrides: Partial<Parameters<AuditRepository['append']>[0]> = {}) => ({
  actorType: 'user',
  actorId: 'u-test',
  action: 'test.single',
  ...overrides,
});

// @switchboard/testing builds on data-access, so data-access's own tests make their database directly.
const adminUrl = process.env['TEST_DATABASE_ADMIN_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres';

describe('AuditRepository against Postgres', () => {
  let database: ScratchDatabase;
  let prisma: PrismaClient;
  let audit: AuditRepository;

  beforeAll(async () => {
    database = await createScratchDatabase(adminUrl, 'sb_test_');
    await applyMigrations({ databaseUrl: database.url });
    prisma = createPrismaClient(database.url);
    audit = new AuditRepository(prisma, { keyring: rotatedKeyring });
  });

  afterAll(async () => {
    // A failed or timed-out run must not leave workers behind.
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await audit?.close();
    await prisma?.$disconnect();
    await database?.drop();
  });

  const count = async (sql: string): Promise<number> => {
    const [row] = await prisma.$queryRawUnsafe<{ n: bigint }[]>(sql);
    return Number(row?.n);
  };

  describe('two processes appending at once', () => {
    let reports: AppendWorkerReport[];

    beforeAll(async () => {
      // Worker A still signs with k1 while B already signs with k2: a rolling key rotation.
      const common = { databaseUrl: database.url, count: PER_WORKER, inTransactionEvery: 5, lanes: 16 };
      const workers = [
        startWorker({ ...common, name: 'worker-a', keyring: formatAuditKeyring(oldKeyring) }),
        startWorker({ ...common, name: 'worker-b', keyring: formatAuditKeyring(rotatedKeyring) }),
      ];
      await Promise.all(workers.map((worker) => worker.ready));
      for (const worker of workers) worker.go();
      reports = await Promise.all(workers.map((worker) => worker.report));
    });

    it('gives one chain with every seq from 1 to 1000 exactly once', async () => {
      const seqs = reports.flatMap((report) => report.seqs).map(Number);
      expect(seqs).toHaveLength(2 * PER_WORKER);
      expect([...seqs].sort((a, b) => a - b)).toEqual(
        Array.from({ length: 2 * PER_WORKER }, (_, index) => index + 1),
      );
      expect(await count('SELECT count(*) AS n FROM audit_entries')).toBe(2 * PER_WORKER);
      expect(await audit.verify()).toEqual({ ok: true, count: 1000, headSeq: 1000n });
    });

    it('committed each appendInTransaction entry together with its settings row', async () => {
      for (const [index, report] of reports.entries()) {
        const name = index === 0 ? 'worker-a' : 'worker-b';
        expect(report.inTransaction).toBe(PER_WORKER / 5);
        expect(await count(`SELECT count(*) AS n FROM settings WHERE key LIKE '${name}.%'`)).toBe(
          PER_WORKER / 5,
        );
      }
    });

    it('wrote the stand-alone entries in shared transactions (group commit)', async () => {
      // Rows inserted by one transaction share its xmin.
      const transactions = await count('SELECT count(DISTINCT xmin::text) AS n FROM audit_entries');
      const multiRow = await count(
        'SELECT count(*) AS n FROM (SELECT xmin::text FROM audit_entries GROUP BY 1 HAVING count(*) > 1) AS t',
      );
      expect(transactions).toBeLessThan(2 * PER_WORKER);
      expect(multiRow).toBeGreaterThan(0);
    });

    it('interleaves both workers and both keys', async () => {
      const rows = await prisma.auditEntry.findMany({
        select: { actorId: true, keyId: true },
        orderBy: { seq: 'asc' },
      });
      const switches = rows.filter(
        (row, index) => index > 0 && row.actorId !== rows[index - 1]?.actorId,
      ).length;
      expect(switches).toBeGreaterThan(1);
      expect(new Set(rows.filter((row) => row.actorId === 'worker-a').map((row) => row.keyId))).toEqual(
        new Set(['k1']),
      );
      expect(new Set(rows.filter((row) => row.actorId === 'worker-b').map((row) => row.keyId))).toEqual(
        new Set(['k2']),
      );
    });
  });

  describe('tampering', () => {
    // Every case edits the 1000-entry chain, verifies, then restores the rows from this copy.
    beforeAll(async () => {
      await prisma.$executeRawUnsafe('CREATE TABLE audit_backup AS SELECT * FROM audit_entries');
      await prisma.$executeRawUnsafe('CREATE TABLE head_backup AS SELECT * FROM audit_chain_head');
    });

    afterEach(async () => {
      await prisma.$transaction([
        prisma.$executeRawUnsafe('DELETE FROM audit_entries'),
        prisma.$executeRawUnsafe('INSERT INTO audit_entries SELECT * FROM audit_backup'),
        prisma.$executeRawUnsafe('DELETE FROM audit_chain_head'),
        prisma.$executeRawUnsafe('INSERT INTO audit_chain_head SELECT * FROM head_backup'),
      ]);
      expect(await audit.verify()).toEqual({ ok: true, count: 1000, headSeq: 1000n });
    });

    const swapContents = (a: number, b: number) => `
      UPDATE audit_entries AS t SET at = o.at, actor_type = o.actor_type, actor_id = o.actor_id, action = o.action,
        target_type = o.target_type, target_id = o.target_id, ip = o.ip, details = o.details, key_id = o.key_id,
        prev_hash = o.prev_hash, hash = o.hash
      FROM audit_backup AS o
      WHERE (t.seq, o.seq) IN ((${a}, ${b}), (${b}, ${a}))`;

    const cases: [string, number, string, string][] = [
      ['at', 1, `UPDATE audit_entries SET at = at + interval '1 millisecond' WHERE seq = 1`, 'hash mismatch'],
      ['actor_type', 2, `UPDATE audit_entries SET actor_type = 'admin' WHERE seq = 2`, 'hash mismatch'],
      ['actor_id', 137, `UPDATE audit_entries SET actor_id = 'mallory' WHERE seq = 137`, 'hash mismatch'],
      ['actor_id to NULL', 138, `UPDATE audit_entries SET actor_id = NULL WHERE seq = 138`, 'hash mismatch'],
      ['action', 250, `UPDATE audit_entries SET action = 'test.other' WHERE seq = 250`, 'hash mismatch'],
      ['target_type', 333, `UPDATE audit_entries SET target_type = NULL WHERE seq = 333`, 'hash mismatch'],
      [
        'target_id',
        400,
        `UPDATE audit_entries SET target_id = target_id || '0' WHERE seq = 400`,
        'hash mismatch',
      ],
      ['ip', 512, `UPDATE audit_entries SET ip = '10.6.6.6' WHERE seq = 512`, 'hash mismatch'],
      [
        'details value',
        600,
        `UPDATE audit_entries SET details = jsonb_set(details, '{index}', '-1') WHERE seq = 600`,
        'hash mismatch',
      ],
      [
        'details extra null key',
        601,
        `UPDATE audit_entries SET details = details || '{"x":null}' WHERE seq = 601`,
        'hash mismatch',
      ],
      [
        'key_id to another known key',
        700,
        `UPDATE audit_entries SET key_id = CASE key_id WHEN 'k1' THEN 'k2' ELSE 'k1' END WHERE seq = 700`,
        'hash mismatch',
      ],
      [
        'key_id to an unknown key',
        701,
        `UPDATE audit_entries SET key_id = 'forged' WHERE seq = 701`,
        'unknown key id',
      ],
      [
        'prev_hash',
        800,
        `UPDATE audit_entries SET prev_hash = sha256(prev_hash) WHERE seq = 800`,
        'prev_hash mismatch',
      ],
      ['hash', 900, `UPDATE audit_entries SET hash = sha256(hash) WHERE seq = 900`, 'hash mismatch'],
      [
        'hash of the head',
        1000,
        `UPDATE audit_entries SET hash = sha256(hash) WHERE seq = 1000`,
        'hash mismatch',
      ],
      ['seq', 444, `UPDATE audit_entries SET seq = 5000 WHERE seq = 444`, 'seq gap'],
      // The walk stops at the head record's seq, so the renumbered row is past its end.
      ['seq of the head', 1000, `UPDATE audit_entries SET seq = 1001 WHERE seq = 1000`, 'missing tail'],
      ['a deleted row', 555, `DELETE FROM audit_entries WHERE seq = 555`, 'seq gap'],
      ['the deleted first row', 1, `DELETE FROM audit_entries WHERE seq = 1`, 'seq gap'],
      ['two swapped rows', 10, swapContents(10, 20), 'prev_hash mismatch'],
      ['two swapped neighbours', 30, swapContents(30, 31), 'prev_hash mismatch'],
    ];

    it.each(cases)('detects %s at seq %d', async (_label, seq, sql, reason) => {
      const affected = await prisma.$executeRawUnsafe(sql);
      expect(affected).toBeGreaterThan(0);
      expect(await audit.verify(rotatedKeyring, { pageSize: 128 })).toMatchObject({
        ok: false,
        brokenSeq: BigInt(seq),
        reason,
        checked: seq - 1,
      });
    });

    it.each([
      ['the newest entries deleted', 'DELETE FROM audit_entries WHERE seq > 997', 998, 'missing tail'],
      ['the table emptied', 'TRUNCATE audit_entries', 1, 'missing tail'],
      ['the head record deleted', 'DELETE FROM audit_chain_head', 1001, 'head record missing'],
      [
        'the head record moved back without its key',
        `UPDATE audit_chain_head AS h SET seq = e.seq, hash = e.hash FROM audit_entries AS e WHERE e.seq = 990`,
        991,
        'head record invalid',
      ],
    ])('detects %s and names the last good seq', async (_label, sql, brokenSeq, reason) => {
      await prisma.$executeRawUnsafe(sql);
      expect(await audit.verify()).toMatchObject({
        ok: false,
        brokenSeq: BigInt(brokenSeq),
        reason,
        checked: brokenSeq - 1,
      });
    });

    it('detects the newest entries and the head record deleted together', async () => {
      await prisma.$executeRawUnsafe('DELETE FROM audit_entries WHERE seq > 900');
      await prisma.$executeRawUnsafe('DELETE FROM audit_chain_head');
      expect(await audit.verify()).toMatchObject({
        ok: false,
        brokenSeq: 901n,
        reason: 'head record missing',
      });
    });

    it('appends after an emptied table at the next seq, so the loss stays visible', async () => {
      await prisma.$executeRawUnsafe('TRUNCATE audit_entries');
      await audit.append(newEntry({ action: 'test.after_truncate' }));
      expect(await prisma.auditEntry.findMany({ select: { seq: true } })).toEqual([{ seq: 1001n }]);
      expect(await audit.verify()).toMatchObject({
        ok: false,
        brokenSeq: 1n,
        reason: 'seq gap',
        detail: 'expected seq 1, found 1001',
      });
    });

    describe('against a checkpoint kept outside Postgres', () => {
      let checkpoint: AuditCheckpoint;
      beforeEach(async () => {
        const head = await audit.readHeadRecord();
        const firstHash = await audit.firstHash();
        if (head === null || firstHash === null) throw new Error('no head to checkpoint');
        checkpoint = signCheckpoint(
          { seq: head.seq, hash: head.hash, firstHash, at: new Date() },
          rotatedKeyring,
        );
      });
      const verifyAgainst = (reading: CheckpointReading['checkpoint']) =>
        audit.verify(rotatedKeyring, { checkpoints: [{ source: 'file', checkpoint: reading }] });

      it('accepts the chain it was taken from, and one grown since', async () => {
        expect(await verifyAgainst(checkpoint)).toEqual({ ok: true, count: 1000, headSeq: 1000n });
        await audit.append(newEntry());
        expect(await verifyAgainst(checkpoint)).toEqual({ ok: true, count: 1001, headSeq: 1001n });
      });

      it('detects a tail cut with the head record rolled back to a genuine older copy', async () => {
        const [older] = await prisma.auditEntry.findMany({ where: { seq: 990n } });
        const replayed = signChainHead({ seq: 990n, hash: Buffer.from(older!.hash) }, rotatedKeyring);
        await prisma.$executeRawUnsafe('DELETE FROM audit_entries WHERE seq > 990');
        await prisma.auditChainHead.update({
          where: { id: 1 },
          data: {
            seq: replayed.seq,
            hash: new Uint8Array(replayed.hash),
            keyId: replayed.keyId,
            mac: new Uint8Array(replayed.mac),
          },
        });
        expect(await audit.verify()).toEqual({ ok: true, count: 990, headSeq: 990n });
        expect(await verifyAgainst(checkpoint)).toMatchObject({
          ok: false,
          brokenSeq: 991n,
          reason: 'missing tail',
          detail: expect.stringContaining('file checkpoint'),
          checked: 990,
        });
      });

      it('reports a chain emptied, its head record deleted and written again as restarted', async () => {
        await prisma.$executeRawUnsafe('TRUNCATE audit_entries');
        await prisma.$executeRawUnsafe('DELETE FROM audit_chain_head');
        await audit.append(newEntry({ action: 'test.restarted' }));
        expect(await audit.verify()).toEqual({ ok: true, count: 1, headSeq: 1n });
        expect(await verifyAgainst(checkpoint)).toMatchObject({
          ok: false,
          brokenSeq: 1n,
          reason: 'chain restarted',
        });
      });

      it('refuses a checkpoint it did not sign', async () => {
        const forged = { ...checkpoint, seq: 5n };
        expect(await verifyAgainst(forged)).toMatchObject({ ok: false, reason: 'checkpoint invalid' });
        expect(await verifyAgainst('unreadable')).toMatchObject({ ok: false, reason: 'checkpoint invalid' });
      });
    });
  });

  describe('key rotation', () => {
    it('verifies entries signed with a rotated-out key and signs new ones with the current key', async () => {
      const seq = await audit.append(newEntry());
      expect(seq).toBe(1001n);
      const row = await prisma.auditEntry.findUniqueOrThrow({ where: { seq } });
      expect(row.keyId).toBe('k2');
      expect(await audit.verify(rotatedKeyring)).toEqual({ ok: true, count: 1001, headSeq: 1001n });
    });

    it('names the first entry of a key dropped from the keyring too early', async () => {
      const firstOld = await prisma.auditEntry.findFirstOrThrow({
        where: { keyId: 'k1' },
        orderBy: { seq: 'asc' },
      });
      expect(await audit.verify(createAuditKeyring([newKey]))).toMatchObject({
        ok: false,
        brokenSeq: firstOld.seq,
        reason: 'unknown key id',
      });
    });
  });

  describe('appendInTransaction', () => {
    it('rolls back with the caller, leaving no entry and no gap', async () => {
      const head = (await audit.verify()) as { headSeq: bigint };
      const failure = new Error('the change failed');
      await expect(
        prisma.$transaction(async (tx) => {
          await audit.appendInTransaction(tx, [newEntry({ action: 'test.rolled_back' })]);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await prisma.auditEntry.count({ where: { action: 'test.rolled_back' } })).toBe(0);
      expect(await audit.append(newEntry())).toBe(head.headSeq + 1n);
      expect(await audit.verify()).toMatchObject({ ok: true });
    });

    it('appends several entries in order with one call', async () => {
      const head = (await audit.verify()) as { headSeq: bigint };
      const chained = await prisma.$transaction((tx) =>
        audit.appendInTransaction(tx, [newEntry({ targetId: 'first' }), newEntry({ targetId: 'second' })]),
      );
      expect(chained.map((entry) => [entry.seq, entry.targetId])).toEqual([
        [head.headSeq + 1n, 'first'],
        [head.headSeq + 2n, 'second'],
      ]);
      expect(chained[1]?.prevHash).toEqual(chained[0]?.hash);
    });

    it('splits an append too large for one statement without breaking the chain', async () => {
      const entries = Array.from({ length: 5001 }, (_, index) =>
        newEntry({ action: 'test.bulk', targetId: `${index}` }),
      );
      const chained = await prisma.$transaction((tx) => audit.appendInTransaction(tx, entries));
      expect(chained).toHaveLength(5001);
      expect(await prisma.auditEntry.count({ where: { action: 'test.bulk' } })).toBe(5001);
      expect(await audit.verify()).toMatchObject({ ok: true, headSeq: chained[5000]?.seq });
    });

    it('refuses a REPEATABLE READ transaction, whose snapshot may predate the lock', async () => {
      await expect(
        prisma.$transaction((tx) => audit.appendInTransaction(tx, [newEntry()]), {
          isolationLevel: 'RepeatableRead',
        }),
      ).rejects.toBeInstanceOf(AuditIsolationError);
    });
  });

  describe('append', () => {
    it('rejects an invalid entry up front without failing the batch it would have joined', async () => {
      const results = await Promise.allSettled([
        audit.append(newEntry({ targetId: 'ok-1' })),
        audit.append(newEntry({ actorType: 'x'.repeat(17) })),
        audit.append(newEntry({ targetId: 'ok-2' })),
      ]);
      expect(results[1]).toMatchObject({ status: 'rejected', reason: expect.any(InvalidAuditEntryError) });
      const [first, , second] = results;
      if (first?.status !== 'fulfilled' || second?.status !== 'fulfilled')
        throw new Error('valid entries failed');
      expect(second.value).toBe(first.value + 1n);
    });

    it('stores details so they hash the same when read back', async () => {
      const details = {
        unicode: 'ünïcødé 😀 \u2028',
        numbers: [0, -1.5, 1e21, 5e-324, 2 ** 60 + 2 ** 10, 0.30000000000000004],
        nested: { b: null, a: [true, false, { z: 'z', y: [] }] },
        '': 'empty key',
      };
      const seq = await audit.append(newEntry({ details, ip: '2001:db8::1' }));
      const row = await prisma.auditEntry.findUniqueOrThrow({ where: { seq } });
      expect(row.details).toEqual(details);
      expect(await audit.verify(rotatedKeyring, { pageSize: 1 })).toMatchObject({ ok: true, headSeq: seq });
    });

    it('flushes queued entries on close and refuses appends afterwards', async () => {
      const closing = new AuditRepository(prisma, { keyring: rotatedKeyring, maxBatchSize: 7 });
      const pending = Array.from({ length: 50 }, (_, index) =>
        closing.append(newEntry({ targetId: `close-${index}` })),
      );
      await closing.close();
      expect(await prisma.auditEntry.count({ where: { targetId: { startsWith: 'close-' } } })).toBe(50);
      const seqs = await Promise.all(pending);
      expect(seqs.map((seq) => seq - (seqs[0] ?? 0n))).toEqual(
        Array.from({ length: 50 }, (_, index) => BigInt(index)),
      );
      await expect(closing.append(newEntry())).rejects.toBeInstanceOf(AuditRepositoryClosedError);
    });
  });

  describe('list', () => {
    async function listAll(query: Parameters<AuditRepository['list']>[0]): Promise<AuditEntry[]> {
      const entries: AuditEntry[] = [];
      let cursor: string | undefined;
      do {
        const page = await audit.list({ ...query, cursor });
        entries.push(...page.entries);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return entries;
    }

    it('pages through one actor newest first, every entry exactly once', async () => {
      const entries = await listAll({ actorId: 'worker-a', limit: 37 });
      expect(entries).toHaveLength(PER_WORKER);
      expect(new Set(entries.map((entry) => entry.targetId)).size).toBe(PER_WORKER);
      const order = entries.map((entry) => [entry.at.getTime(), entry.seq] as const);
      const sorted = [...order].sort(([atA, seqA], [atB, seqB]) => atB - atA || Number(seqB - seqA));
      expect(order).toEqual(sorted);
      // Entries come back as stored, so a page can be checked against the chain.
      expect(entries.every((entry) => entry.hash.length === 32)).toBe(true);
    });

    it('filters by action, target and time', async () => {
      expect((await listAll({ action: 'test.append', limit: 500 })).length).toBe(2 * PER_WORKER);
      const byTarget = await audit.list({ targetType: 'op', targetId: '7' });
      expect(byTarget.entries.map((entry) => entry.actorId).sort()).toEqual(['worker-a', 'worker-b']);
      expect(byTarget.nextCursor).toBeNull();
      const all = await listAll({ action: 'test.append', limit: 500 });
      const middle = all[500]!.at;
      const before = await listAll({ action: 'test.append', to: middle, limit: 500 });
      const after = await listAll({ action: 'test.append', from: middle, limit: 500 });
      expect(before.length + after.length).toBe(2 * PER_WORKER);
      expect(before.every((entry) => entry.at < middle)).toBe(true);
      expect(after.every((entry) => entry.at >= middle)).toBe(true);
    });

    it('rejects a malformed cursor and an out-of-range limit', async () => {
      await expect(audit.list({ cursor: 'nope' })).rejects.toBeInstanceOf(InvalidAuditCursorError);
      await expect(audit.list({ limit: 0 })).rejects.toBeInstanceOf(RangeError);
      await expect(audit.list({ limit: 501 })).rejects.toBeInstanceOf(RangeError);
    });
  });

  it('agrees with the in-memory verifier on the whole table', async () => {
    const rows = await audit.list({ limit: 500 });
    expect(rows.entries.length).toBeGreaterThan(0);
    const all: AuditEntry[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<AuditRepository['list']>> = await audit.list({
        limit: 500,
        cursor: cursor ?? undefined,
      });
      all.push(...page.entries);
      cursor = page.nextCursor;
    } while (cursor !== null);
    all.sort((a, b) => (a.seq < b.seq ? -1 : 1));
    expect(verifyAuditChain(all, rotatedKeyring)).toEqual(await audit.verify());
  });
});
