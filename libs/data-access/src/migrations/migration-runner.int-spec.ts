import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import { createScratchDatabase, type ScratchDatabase } from './database-admin';
import { findMigrationsDir, readMigrationDirectory } from './migration-directory';
import { MigrationError } from './migration-error';
import { applyMigrations } from './migration-runner';
import { readDatabaseSchema } from './schema-drift/database-schema';

const migrationsDir = findMigrationsDir();
const migrationNames = readMigrationDirectory(migrationsDir).map((migration) => migration.name);
// The server @switchboard/testing uses (data-access may not import that lib).
const adminUrl = process.env['TEST_DATABASE_ADMIN_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres';
const databases: ScratchDatabase[] = [];
const tempDirs: string[] = [];

interface HistoryRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

/** An empty database of this test's own (the runner must start from nothing here). */
async function emptyDatabase(): Promise<string> {
  const database = await createScratchDatabase(adminUrl);
  databases.push(database);
  return database.url;
}

/** A copy of the real migrations directory that a test may edit. */
function migrationsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-migrations-'));
  tempDirs.push(dir);
  cpSync(migrationsDir, dir, { recursive: true });
  return dir;
}

function addMigration(dir: string, name: string, sql: string): void {
  mkdirSync(join(dir, name));
  writeFileSync(join(dir, name, 'migration.sql'), sql);
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Runs one statement on its own connection and returns the rows, typed. */
async function rowsOf<Row extends object>(url: string, sql: string, params: unknown[] = []): Promise<Row[]> {
  return withClient(url, async (client) => (await client.query<Row>(sql, params)).rows);
}

async function historyRows(url: string): Promise<HistoryRow[]> {
  return rowsOf<HistoryRow>(url, 'SELECT * FROM _prisma_migrations ORDER BY started_at');
}

/** Everything a refused run could have touched: the schema and the history. */
async function snapshot(url: string) {
  return withClient(url, async (client) => ({
    schema: await readDatabaseSchema(client),
    history: (await client.query<HistoryRow>('SELECT * FROM _prisma_migrations ORDER BY id')).rows,
  }));
}

async function rejection(promise: Promise<unknown>): Promise<MigrationError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the run to be refused');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MigrationError);
  return error as MigrationError;
}

afterAll(async () => {
  for (const database of databases) await database.drop();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('applyMigrations', () => {
  it('applies every migration to a fresh database and records it exactly as Prisma does', async () => {
    const url = await emptyDatabase();
    const before = Date.now();

    const result = await applyMigrations({ databaseUrl: url, migrationsDir });

    expect(result).toEqual({ applied: migrationNames, alreadyApplied: [] });
    // Prisma's DDL (schema-engine postgres.rs create_migrations_table), column by column.
    const columns = await rowsOf<{ c: string }>(
      url,
      `SELECT column_name || ' ' || format_type(atttypid, atttypmod)
              || CASE WHEN attnotnull THEN ' NOT NULL' ELSE ' NULL' END
              || coalesce(' DEFAULT ' || column_default, '') AS c
         FROM information_schema.columns
         JOIN pg_attribute ON attrelid = '_prisma_migrations'::regclass AND attname = column_name
        WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns.map((column) => column.c)).toEqual([
      'id character varying(36) NOT NULL',
      'checksum character varying(64) NOT NULL',
      'finished_at timestamp with time zone NULL',
      'migration_name character varying(255) NOT NULL',
      'logs text NULL',
      'rolled_back_at timestamp with time zone NULL',
      'started_at timestamp with time zone NOT NULL DEFAULT now()',
      'applied_steps_count integer NOT NULL DEFAULT 0',
    ]);
    const primaryKey = await rowsOf(
      url,
      `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE conrelid = '_prisma_migrations'::regclass AND contype = 'p'`,
    );
    expect(primaryKey).toEqual([{ conname: '_prisma_migrations_pkey', def: 'PRIMARY KEY (id)' }]);

    const rows = await historyRows(url);
    expect(rows.map((row) => row.migration_name)).toEqual(migrationNames);
    for (const row of rows) {
      const file = readFileSync(join(migrationsDir, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(file).digest('hex'));
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.applied_steps_count).toBe(1);
      expect(row.logs).toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(row.started_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(row.finished_at?.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
  });

  it('applies nothing the second time', async () => {
    const url = await emptyDatabase();
    await applyMigrations({ databaseUrl: url, migrationsDir });
    const rowsBefore = await historyRows(url);

    const result = await applyMigrations({ databaseUrl: url, migrationsDir });

    expect(result).toEqual({ applied: [], alreadyApplied: migrationNames });
    expect(await historyRows(url)).toEqual(rowsBefore);
  });

  it('applies only the new migration when one is added', async () => {
    const url = await emptyDatabase();
    await applyMigrations({ databaseUrl: url, migrationsDir });
    const dir = migrationsCopy();
    addMigration(dir, '29990101000000_add_marker', 'CREATE TABLE "marker" ("id" INTEGER NOT NULL);\n');

    const result = await applyMigrations({ databaseUrl: url, migrationsDir: dir });

    expect(result).toEqual({ applied: ['29990101000000_add_marker'], alreadyApplied: migrationNames });
    expect((await historyRows(url)).map((row) => row.migration_name)).toEqual([
      ...migrationNames,
      '29990101000000_add_marker',
    ]);
  });

  it('refuses, changing nothing, when an applied migration was edited', async () => {
    const url = await emptyDatabase();
    await applyMigrations({ databaseUrl: url, migrationsDir });
    const dir = migrationsCopy();
    const edited = migrationNames[0] ?? '';
    appendFileSync(join(dir, edited, 'migration.sql'), '\nCREATE TABLE "sneaky" ("id" INTEGER);\n');
    // A pending migration too: a refusal must not apply it either.
    addMigration(dir, '29990101000000_pending', 'CREATE TABLE "pending_marker" ("id" INTEGER);\n');
    const before = await snapshot(url);

    const error = await rejection(applyMigrations({ databaseUrl: url, migrationsDir: dir }));

    expect(error.code).toBe('HISTORY_CONFLICT');
    expect(error.message).toContain(`${edited}: migration.sql was modified after it was applied`);
    expect(error.message).toContain('Nothing was changed');
    expect(error.problems).toHaveLength(1);
    expect(await snapshot(url)).toEqual(before);
  });

  it('accepts an applied migration whose line endings git converted (as Prisma does)', async () => {
    const url = await emptyDatabase();
    await applyMigrations({ databaseUrl: url, migrationsDir });
    const dir = migrationsCopy();
    const name = migrationNames[0] ?? '';
    const file = join(dir, name, 'migration.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));

    expect(await applyMigrations({ databaseUrl: url, migrationsDir: dir })).toEqual({
      applied: [],
      alreadyApplied: migrationNames,
    });
  });

  it('refuses, changing nothing, when an applied migration directory is missing', async () => {
    const url = await emptyDatabase();
    const dir = migrationsCopy();
    addMigration(dir, '29990101000000_later_deleted', 'CREATE TABLE "doomed" ("id" INTEGER);\n');
    await applyMigrations({ databaseUrl: url, migrationsDir: dir });
    rmSync(join(dir, '29990101000000_later_deleted'), { recursive: true });
    addMigration(dir, '29990101000001_pending', 'CREATE TABLE "pending_marker" ("id" INTEGER);\n');
    const before = await snapshot(url);

    const error = await rejection(applyMigrations({ databaseUrl: url, migrationsDir: dir }));

    expect(error.code).toBe('HISTORY_CONFLICT');
    expect(error.message).toContain('29990101000000_later_deleted: recorded as applied, but');
    expect(error.message).toContain('does not exist');
    expect(await snapshot(url)).toEqual(before);
  });

  it('refuses, changing nothing, when a failed attempt is recorded (by prisma migrate deploy)', async () => {
    const url = await emptyDatabase();
    const dir = migrationsCopy();
    addMigration(dir, '29990101000000_half_done', 'CREATE TABLE "half" ("id" INTEGER);\n');
    await applyMigrations({ databaseUrl: url, migrationsDir });
    // What Prisma leaves after a failing script: a row without finished_at, with its logs.
    await rowsOf(
      url,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at)
       VALUES (gen_random_uuid()::text, $1, '29990101000000_half_done', 'db error: relation exists', now())`,
      [createHash('sha256').update('CREATE TABLE "half" ("id" INTEGER);\n').digest('hex')],
    );
    const before = await snapshot(url);

    const error = await rejection(applyMigrations({ databaseUrl: url, migrationsDir: dir }));

    expect(error.code).toBe('HISTORY_CONFLICT');
    expect(error.message).toContain('29990101000000_half_done: a previous attempt');
    expect(error.message).toContain('prisma migrate resolve --rolled-back 29990101000000_half_done');
    expect(await snapshot(url)).toEqual(before);

    // Once resolved as rolled back (what `prisma migrate resolve` writes), the runner applies it again.
    await rowsOf(url, 'UPDATE _prisma_migrations SET rolled_back_at = now() WHERE finished_at IS NULL');
    expect((await applyMigrations({ databaseUrl: url, migrationsDir: dir })).applied).toEqual([
      '29990101000000_half_done',
    ]);
  });

  it('rolls a failing migration back whole, records nothing, and names it; the fixed file then applies', async () => {
    const url = await emptyDatabase();
    const dir = migrationsCopy();
    const broken = '29990101000000_broken';
    addMigration(
      dir,
      broken,
      '-- CreateTable\nCREATE TABLE "partial" ("id" INTEGER NOT NULL);\n\n' +
        '-- CreateIndex\nCREATE INDEX "partial_id_idx" ON "partial"("id");\n\n' +
        '-- Oops\nALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n',
    );

    const error = await rejection(applyMigrations({ databaseUrl: url, migrationsDir: dir }));

    expect(error.code).toBe('MIGRATION_FAILED');
    expect(error.migrationName).toBe(broken);
    expect(error.message).toContain(`Migration ${broken} failed: relation "no_such_table" does not exist`);
    // The migrations before it were committed; nothing of the broken one was.
    const state = {
      partial: await rowsOf(url, `SELECT to_regclass('partial') AS t, to_regclass('partial_id_idx') AS i`),
      names: (
        await rowsOf<{ migration_name: string }>(url, 'SELECT migration_name FROM _prisma_migrations')
      ).map((row) => row.migration_name),
    };
    expect(state).toEqual({ partial: [{ t: null, i: null }], names: migrationNames });

    writeFileSync(join(dir, broken, 'migration.sql'), 'CREATE TABLE "partial" ("id" INTEGER NOT NULL);\n');
    expect(await applyMigrations({ databaseUrl: url, migrationsDir: dir })).toEqual({
      applied: [broken],
      alreadyApplied: migrationNames,
    });
  });

  it('keeps a script and its history row in one transaction: if the row cannot be written, the script is undone', async () => {
    const url = await emptyDatabase();
    const dir = migrationsCopy();
    const name = '29990101000000_sabotage';
    // The script succeeds, then makes its own history row impossible to insert.
    addMigration(
      dir,
      name,
      `CREATE TABLE "orphan" ("id" INTEGER);\n` +
        `ALTER TABLE _prisma_migrations ADD CONSTRAINT "refuse_row" CHECK (migration_name <> '${name}');\n`,
    );

    const error = await rejection(applyMigrations({ databaseUrl: url, migrationsDir: dir }));

    expect(error.code).toBe('MIGRATION_FAILED');
    expect(error.message).toContain(`Migration ${name} failed: new row for relation "_prisma_migrations"`);
    expect(
      await rowsOf(
        url,
        `SELECT to_regclass('orphan') AS t,
                (SELECT count(*)::int FROM pg_constraint WHERE conname = 'refuse_row') AS constraints`,
      ),
    ).toEqual([{ t: null, constraints: 0 }]);
  });

  it('points at the line of a syntax error', async () => {
    const url = await emptyDatabase();
    const dir = migrationsCopy();
    addMigration(
      dir,
      '29990101000000_typo',
      'CREATE TABLE "ok" ("id" INTEGER);\n\nCREAT TABLE "typo" ("id" INTEGER);\n',
    );

    const error = await rejection(applyMigrations({ databaseUrl: url, migrationsDir: dir }));

    expect(error.code).toBe('MIGRATION_FAILED');
    expect(error.message).toContain('Migration 29990101000000_typo failed: syntax error at or near "CREAT"');
    expect(error.message).toContain('at line 3 of migration.sql');
    expect(await rowsOf(url, `SELECT to_regclass('ok') AS t`)).toEqual([{ t: null }]);
  });

  it('two runners started at once apply each migration exactly once', async () => {
    const url = await emptyDatabase();
    const dir = migrationsCopy();
    // Slow enough that the second runner certainly arrives while the first holds the lock.
    addMigration(
      dir,
      '29990101000000_slow',
      'SELECT pg_sleep(0.5);\nCREATE TABLE "slow_marker" ("id" INTEGER);\n',
    );
    const logs: string[][] = [[], []];

    const results = await Promise.all(
      logs.map((lines) =>
        applyMigrations({ databaseUrl: url, migrationsDir: dir, log: (line) => lines.push(line) }),
      ),
    );

    const all = [...migrationNames, '29990101000000_slow'];
    const appliedByAnyone = results.flatMap((result) => result.applied).sort();
    expect(appliedByAnyone).toEqual([...all].sort());
    for (const result of results)
      expect([...result.applied, ...result.alreadyApplied].sort()).toEqual([...all].sort());
    expect(logs.flat().filter((line) => line.includes('holds the migrate lock'))).toHaveLength(1);
    const counts = await rowsOf(
      url,
      'SELECT migration_name, count(*)::int AS n FROM _prisma_migrations GROUP BY 1 ORDER BY 1',
    );
    expect(counts).toEqual(all.map((name) => ({ migration_name: name, n: 1 })));
  });

  it("waits on Prisma's own advisory lock and gives up after the lock timeout, having done nothing", async () => {
    const url = await emptyDatabase();
    await withClient(url, async (holder) => {
      // What `prisma migrate deploy` holds while it runs (schema-engine postgres.rs acquire_lock).
      await holder.query('SELECT pg_advisory_lock(72707369)');

      const error = await rejection(applyMigrations({ databaseUrl: url, migrationsDir, lockTimeoutMs: 300 }));

      expect(error.code).toBe('LOCK_TIMEOUT');
      expect(
        (await holder.query<{ t: string | null }>(`SELECT to_regclass('_prisma_migrations') AS t`)).rows[0],
      ).toEqual({
        t: null,
      });
    });
  });

  it('refuses to adopt a database that has tables but no migration history', async () => {
    const url = await emptyDatabase();
    await rowsOf(url, 'CREATE TABLE legacy (id INTEGER)');

    const error = await rejection(applyMigrations({ databaseUrl: url, migrationsDir }));

    expect(error.code).toBe('SCHEMA_NOT_EMPTY');
    expect(error.message).toContain('legacy');
    expect(await rowsOf(url, `SELECT to_regclass('_prisma_migrations') AS t`)).toEqual([{ t: null }]);
  });
});
