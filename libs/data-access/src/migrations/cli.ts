// Entry point: `node dist/libs/data-access/src/migrations/cli.js` (npm run migrate).
// Creates the database DATABASE_URL names if needed, applies pending migrations, then gives the
// runtime roles the passwords their services' URLs carry (API_DATABASE_URL, SIGNAL_DATABASE_URL).
import { databaseUrl, loadConfig, z } from '@switchboard/config';

import { databaseNameOf, ensureDatabaseExists, redactUrl } from './database-admin';
import { MigrationError } from './migration-error';
import { applyMigrations } from './migration-runner';
import { setRuntimeRolePasswords } from './runtime-roles';

const config = loadConfig(
  z.object({
    DATABASE_URL: databaseUrl,
    /** Defaults to the prisma/migrations found above this file (the repository layout). */
    MIGRATIONS_DIR: z.string().optional(),
    /**
     * The URLs the api and signal connect with. When one names a runtime role (switchboard_api,
     * switchboard_signal) with a password, that role is given it; other roles are left alone.
     */
    API_DATABASE_URL: databaseUrl.unwrap().optional(),
    SIGNAL_DATABASE_URL: databaseUrl.unwrap().optional(),
  }),
);

async function main(): Promise<void> {
  const print = (message: string) => process.stdout.write(`migrate: ${message}\n`);
  const url = config.DATABASE_URL;
  if (await ensureDatabaseExists(url)) print(`created database ${databaseNameOf(url)}`);

  const result = await applyMigrations({
    databaseUrl: url,
    migrationsDir: config.MIGRATIONS_DIR,
    log: print,
  });
  print(
    `${redactUrl(url)}: applied ${result.applied.length} migration(s)` +
      `${result.applied.length ? ` (${result.applied.join(', ')})` : ''}, ` +
      `${result.alreadyApplied.length} already applied`,
  );

  const runtimeUrls = [config.API_DATABASE_URL, config.SIGNAL_DATABASE_URL].filter((u) => u !== undefined);
  const outcomes = await setRuntimeRolePasswords(url, runtimeUrls);
  for (const [role, outcome] of outcomes) print(`role ${role}: ${outcome}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`migrate: ${describeFailure(error)}\n`);
  process.exitCode = 1;
});

// A MigrationError's message, or a connection/database error's, is the whole story for an operator;
// anything else is a bug and keeps its stack.
function describeFailure(error: unknown): string {
  if (error instanceof MigrationError) return error.message;
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') {
    return `${error.message} (database ${redactUrl(config.DATABASE_URL)})`;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
