import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import { createScratchDatabase, type ScratchDatabase } from './database-admin';
import { findMigrationsDir, readMigrationDirectory } from './migration-directory';
import { applyMigrations } from './migration-runner';
import { PrismaSchemaEngine } from './prisma-engine/prisma-engine';

// Proves the runner and Prisma agree, using Prisma's real schema engine (the one `prisma migrate
// deploy` runs, compiled to wasm, talking to Postgres through @prisma/adapter-pg): Prisma must see
// our history as its own, and we must see Prisma's as ours.
const migrationsDir = findMigrationsDir();
const schemaPath = join(migrationsDir, '..', 'schema.prisma');
const migrationNames = readMigrationDirectory(migrationsDir).map((migration) => migration.name);
// The server @switchboard/testing uses (data-access may not import that lib).
const adminUrl = process.env['TEST_DATABASE_ADMIN_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres';

// `prisma migrate deploy` / `status` as Prisma's engine runs them (see prisma-engine/engine-harness.mjs).
async function prismaEngine(
  command: 'deploy' | 'diagnose',
  url: string,
  dir = migrationsDir,
): Promise<unknown> {
  const engine = new PrismaSchemaEngine({ migrationsDir: dir, schemaPath });
  return command === 'deploy' ? engine.deploy(url) : engine.diagnose(url);
}

/** The history rows without what is random or time-dependent. */
async function historyOf(url: string) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, unknown>>(
      `SELECT migration_name, checksum, logs, rolled_back_at, applied_steps_count,
              finished_at IS NOT NULL AS finished, length(id) AS id_length
         FROM _prisma_migrations ORDER BY migration_name`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

describe('compatibility with prisma migrate (Prisma schema engine)', () => {
  const databases: ScratchDatabase[] = [];
  let tempDir: string | undefined;
  async function emptyDatabase(): Promise<string> {
    const database = await createScratchDatabase(adminUrl);
    databases.push(database);
    return database.url;
  }
  afterAll(async () => {
    for (const database of databases) await database.drop();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  it('prisma migrate deploy sees a database migrated by the runner as up to date, and so does the runner the reverse way', async () => {
    const ours = await emptyDatabase();
    const theirs = await emptyDatabase();

    await applyMigrations({ databaseUrl: ours, migrationsDir });
    expect(await prismaEngine('diagnose', ours)).toEqual({
      editedMigrationNames: [],
      failedMigrationNames: [],
      hasMigrationsTable: true,
      history: null,
    });
    expect(await prismaEngine('deploy', ours)).toEqual({ appliedMigrationNames: [] });

    expect(await prismaEngine('deploy', theirs)).toEqual({ appliedMigrationNames: migrationNames });
    expect(await applyMigrations({ databaseUrl: theirs, migrationsDir })).toEqual({
      applied: [],
      alreadyApplied: migrationNames,
    });
    // Row for row the same bookkeeping, apart from random ids and timestamps.
    expect(await historyOf(ours)).toEqual(await historyOf(theirs));
  }, 60_000);

  it('Prisma and the runner agree on which applied migration was edited', async () => {
    const url = await emptyDatabase();
    await applyMigrations({ databaseUrl: url, migrationsDir });
    tempDir = mkdtempSync(join(tmpdir(), 'sb-migrations-'));
    cpSync(migrationsDir, tempDir, { recursive: true });
    const edited = migrationNames[0] ?? '';
    appendFileSync(join(tempDir, edited, 'migration.sql'), '\n-- an afterthought\n');

    expect(await prismaEngine('diagnose', url, tempDir)).toMatchObject({ editedMigrationNames: [edited] });
    await expect(applyMigrations({ databaseUrl: url, migrationsDir: tempDir })).rejects.toThrow(
      `${edited}: migration.sql was modified after it was applied`,
    );
  }, 60_000);
});
