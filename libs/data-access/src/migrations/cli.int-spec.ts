import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { dropDatabase, withDatabaseName } from './database-admin';
import { findMigrationsDir, readMigrationDirectory } from './migration-directory';
import { withDatabaseUser } from './runtime-roles';

// The migrate entry point as operators run it (here from source through @swc-node/register).
const root = join(findMigrationsDir(), '..', '..');
const migrationNames = readMigrationDirectory(findMigrationsDir()).map((migration) => migration.name);
// The server @switchboard/testing uses (data-access may not import that lib).
const adminUrl = process.env['TEST_DATABASE_ADMIN_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres';

function runCli(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', '@swc-node/register', 'libs/data-access/src/migrations/cli.ts'],
      { cwd: root, env: { PATH: process.env['PATH'] ?? '', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('migrate CLI', () => {
  const name = `sb_test_${randomBytes(8).toString('hex')}`;
  const url = withDatabaseName(adminUrl, name);
  let tempDir: string | undefined;
  afterAll(async () => {
    await dropDatabase(adminUrl, name);
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  it('creates the database, applies the migrations, and says so; a second run applies nothing', async () => {
    const first = await runCli({ DATABASE_URL: url });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain(`migrate: created database ${name}`);
    expect(first.stdout).toContain(
      `applied ${migrationNames.length} migration(s) (${migrationNames.join(', ')})`,
    );

    const second = await runCli({ DATABASE_URL: url });
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('created database');
    expect(second.stdout).toContain(`applied 0 migration(s), ${migrationNames.length} already applied`);
  }, 60_000);

  it('exits non-zero with the refusal when an applied migration was edited', async () => {
    tempDir = mkdtempSync(join(tmpdir(), 'sb-migrations-'));
    cpSync(findMigrationsDir(), tempDir, { recursive: true });
    appendFileSync(join(tempDir, migrationNames[0] ?? '', 'migration.sql'), '\n-- edited\n');

    const result = await runCli({ DATABASE_URL: url, MIGRATIONS_DIR: tempDir });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`migrate: Refusing to migrate database ${name}`);
    expect(result.stderr).toContain(`${migrationNames[0]}: migration.sql was modified after it was applied`);
  }, 60_000);

  it("reports what it did with each runtime URL's role, changing no role it does not own", async () => {
    // No password in either URL: nothing is set (trust authentication), and `postgres` is not ours.
    const result = await runCli({
      DATABASE_URL: url,
      API_DATABASE_URL: withDatabaseUser(url, 'switchboard_api'),
      SIGNAL_DATABASE_URL: withDatabaseUser(url, 'postgres'),
    });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('migrate: role switchboard_api: no-password');
    expect(result.stdout).toContain('migrate: role postgres: not-a-runtime-role');
  }, 60_000);

  it('rejects a bad DATABASE_URL through the config loader (exit 78)', async () => {
    const result = await runCli({ DATABASE_URL: 'mysql://nope' });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('DATABASE_URL');
  }, 60_000);
});
