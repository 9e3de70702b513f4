import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import { createScratchDatabase, type ScratchDatabase } from './database-admin';
import { findMigrationsDir, readMigrationDirectory } from './migration-directory';
import { applyMigrations } from './migration-runner';
import { PrismaSchemaEngine } from './prisma-engine/prisma-engine';

// The strongest check that prisma/migrations and schema.prisma agree: Prisma's own schema engine
// (what `prisma migrate diff` runs) finds nothing to change between a database migrated by our runner
// and schema.prisma. Complements schema-drift.int-spec.ts, which compares pg_catalog itself. Then the
// same engine, through `npm run migration:new`, must write a migration for a changed schema.
const migrationsDir = findMigrationsDir();
const repositoryRoot = join(migrationsDir, '..', '..');
const migrationNames = readMigrationDirectory(migrationsDir).map((migration) => migration.name);
// The server @switchboard/testing uses (data-access may not import that lib).
const adminUrl = process.env['TEST_DATABASE_ADMIN_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres';

const databases: ScratchDatabase[] = [];
const tempDirs: string[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

async function migratedDatabase(dir = migrationsDir): Promise<{ url: string; applied: string[] }> {
  const database = await createScratchDatabase(adminUrl);
  databases.push(database);
  const { applied } = await applyMigrations({ databaseUrl: database.url, migrationsDir: dir });
  return { url: database.url, applied };
}

async function query(url: string, sql: string, values: unknown[] = []): Promise<unknown[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** `npm run migration:new -- <name>` against the given directories, as a separate process. */
function newMigration(name: string, dirs: { migrationsDir: string; schemaPath: string }) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['-r', '@swc-node/register', 'libs/data-access/src/migrations/new-migration.ts', name],
      {
        cwd: repositoryRoot,
        env: {
          PATH: process.env['PATH'] ?? '',
          DATABASE_URL: adminUrl,
          MIGRATIONS_DIR: dirs.migrationsDir,
          SCHEMA_PATH: dirs.schemaPath,
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const folders = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

describe('prisma/migrations and schema.prisma (Prisma schema engine diff)', () => {
  it('Prisma finds nothing to change in a database migrated by the runner, and does see a missing index', async () => {
    const engine = new PrismaSchemaEngine({ migrationsDir });
    const { url } = await migratedDatabase();

    const diff = await engine.diff(url);
    // The SQL itself on failure: it is exactly what a new migration (or a schema fix) must contain.
    expect(diff.changed ? diff.script : '').toBe('');
    expect(diff.changed).toBe(false);

    // Not blind: it notices one of the pg_trgm indexes going missing, and never touches the extension
    // itself (undeclared in schema.prisma, and ignored without the postgresqlExtensions preview feature).
    await query(url, 'DROP INDEX "devices_hostname_trgm_idx"');
    const afterDrop = await engine.diff(url);
    expect(afterDrop.changed).toBe(true);
    expect(afterDrop.script).toContain(
      'CREATE INDEX "devices_hostname_trgm_idx" ON "devices" USING GIN ("hostname" gin_trgm_ops);',
    );
    expect(afterDrop.script).not.toMatch(/EXTENSION/i);
  }, 30_000);

  it('migration:new writes the migration a changed schema needs, and then has nothing more to write', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'sb-new-migration-'));
    tempDirs.push(copy);
    const dirs = { migrationsDir: join(copy, 'migrations'), schemaPath: join(copy, 'schema.prisma') };
    cpSync(migrationsDir, dirs.migrationsDir, { recursive: true });
    const schema = readFileSync(join(migrationsDir, '..', 'schema.prisma'), 'utf8');
    const changedSchema =
      schema.replace(/^model User \{\n/m, '$&  nickname String? @db.VarChar(64)\n') +
      `
model MigrationToolProbe {
  id        String   @id @default(uuid()) @db.Uuid
  userId    String   @map("user_id") @db.Uuid
  createdAt DateTime @default(now()) @map("created_at") @db.Timestamptz(3)

  @@index([userId])
  @@map("migration_tool_probes")
}
`;
    expect(changedSchema).toContain('nickname String?');
    writeFileSync(dirs.schemaPath, changedSchema);

    const created = await newMigration('add_probe', dirs);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const added = folders(dirs.migrationsDir).filter((folder) => !migrationNames.includes(folder));
    expect(added).toEqual([expect.stringMatching(/^\d{14}_add_probe$/)]);
    const folder = added[0] ?? '';
    expect(folders(dirs.migrationsDir).at(-1)).toBe(folder); // applied last
    const scriptPath = join(dirs.migrationsDir, folder, 'migration.sql');
    expect(created.stdout).toContain(`wrote ${scriptPath}`);
    const script = readFileSync(scriptPath, 'utf8');
    expect(script).toMatch(/ALTER TABLE "users" ADD COLUMN\s+"nickname" VARCHAR\(64\);/);
    expect(script).toContain('CREATE TABLE "migration_tool_probes"');
    expect(script).toContain(
      'CREATE INDEX "migration_tool_probes_user_id_idx" ON "migration_tool_probes"("user_id");',
    );

    // Its scratch database is gone.
    const scratchName = /scratch database (sb_new_migration_[0-9a-f]{16})/.exec(created.stdout)?.[1];
    expect(scratchName).toBeDefined();
    expect(await query(adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [scratchName])).toEqual([]);

    // Applied by our runner, the migrations now produce exactly the changed schema.
    const { url, applied } = await migratedDatabase(dirs.migrationsDir);
    expect(applied).toEqual([...migrationNames, folder]);
    expect(await new PrismaSchemaEngine(dirs).diff(url)).toMatchObject({ changed: false });

    const again = await newMigration('add_probe_again', dirs);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toContain('schema.prisma and the migrations already agree');
    expect(folders(dirs.migrationsDir)).toEqual([...migrationNames, folder]);
  }, 30_000);

  it('migration:new refuses a name that is not snake_case, writing nothing', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'sb-new-migration-'));
    tempDirs.push(copy);
    const dirs = { migrationsDir: join(copy, 'migrations'), schemaPath: join(copy, 'schema.prisma') };
    cpSync(migrationsDir, dirs.migrationsDir, { recursive: true });

    const result = await newMigration('Add-Probe', dirs);

    expect(result.code).toBe(64);
    expect(result.stderr).toContain('Invalid migration name "Add-Probe"');
    expect(folders(dirs.migrationsDir)).toEqual(migrationNames);
  }, 30_000);
});
