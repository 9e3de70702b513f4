// Entry point: `npm run migration:new -- <snake_case_name>` (runs from the sources via @swc-node/register).
// Our stand-in for `prisma migrate dev --create-only`, which needs Prisma's native engine: edit
// prisma/schema.prisma, run this, review the generated prisma/migrations/<UTC timestamp>_<name>/migration.sql,
// commit both. It needs the Postgres server DATABASE_URL points at, for a scratch database it always drops.
import { join } from 'node:path';

import { databaseUrl, loadConfig, z } from '@switchboard/config';

import { redactUrl, withDatabaseName } from './database-admin';
import { findMigrationsDir } from './migration-directory';
import { MigrationError } from './migration-error';
import { createMigration, InvalidMigrationNameError } from './prisma-engine/migration-author';

const EX_USAGE = 64;

const config = loadConfig(
  z.object({
    /** Only its server and credentials are used: the scratch database is created beside it. */
    DATABASE_URL: databaseUrl,
    /** Defaults to the prisma/migrations found above this file (the repository layout). */
    MIGRATIONS_DIR: z.string().optional(),
    /** Defaults to schema.prisma beside the migrations directory. */
    SCHEMA_PATH: z.string().optional(),
  }),
);

const print = (message: string) => process.stdout.write(`migration:new: ${message}\n`);

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.length !== 1) {
    process.stderr.write('usage: npm run migration:new -- <snake_case_name>\n');
    return EX_USAGE;
  }
  const migrationsDir = config.MIGRATIONS_DIR ?? findMigrationsDir();
  const result = await createMigration({
    name: args[0] ?? '',
    adminUrl: withDatabaseName(config.DATABASE_URL, 'postgres'),
    migrationsDir,
    schemaPath: config.SCHEMA_PATH ?? join(migrationsDir, '..', 'schema.prisma'),
    log: print,
  });
  print(
    result.created
      ? `wrote ${result.scriptPath}; review it before committing`
      : 'schema.prisma and the migrations already agree; nothing written',
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`migration:new: ${describeFailure(error)}\n`);
    process.exitCode = error instanceof InvalidMigrationNameError ? EX_USAGE : 1;
  },
);

// Our own errors and database errors say all an author needs; anything else keeps its stack.
function describeFailure(error: unknown): string {
  if (error instanceof InvalidMigrationNameError || error instanceof MigrationError) return error.message;
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') {
    return `${error.message} (database server ${redactUrl(config.DATABASE_URL)})`;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
