import { Client, DatabaseError } from 'pg';

import {
  findMigrationsDir,
  readMigrationDirectory,
  scriptMatchesChecksum,
  type MigrationFile,
} from './migration-directory';
import { MigrationError } from './migration-error';
import { MigrationHistory, PRISMA_MIGRATE_LOCK_KEY, type MigrationRecord } from './migration-history';

export interface ApplyMigrationsOptions {
  databaseUrl: string;
  /** Defaults to the repository's `prisma/migrations` (found by walking up from this file). */
  migrationsDir?: string;
  log?: (message: string) => void;
  /** How long to wait for another runner (or `prisma migrate`) to release the migrate lock. */
  lockTimeoutMs?: number;
}

export interface ApplyMigrationsResult {
  /** Migrations applied by this run, in order. */
  applied: string[];
  /** Migrations found already applied (and unchanged). */
  alreadyApplied: string[];
}

const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Applies pending `prisma/migrations/*\/migration.sql` scripts and records them in `_prisma_migrations`
 * exactly as `prisma migrate deploy` does, under Prisma's own advisory lock, so either tool can take
 * over from the other. Refuses, changing nothing, when the recorded history and the files disagree.
 */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const migrationsDir = options.migrationsDir ?? findMigrationsDir();
  const log = options.log ?? (() => undefined);
  // Read every file before touching the database: a broken directory must fail with nothing done.
  const migrations = readMigrationDirectory(migrationsDir);

  const client = new Client({
    connectionString: options.databaseUrl,
    application_name: 'switchboard-migrate',
  });
  // A dropped connection also fails the pending query, which is where we report it; without a
  // listener the same event would crash the process instead.
  client.on('error', (error) => log(`database connection error: ${error.message}`));
  await client.connect();
  try {
    await acquireMigrateLock(client, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, log);
    // The lock is session-scoped: closing the connection in `finally` releases it, even after an error.
    return await migrate(client, migrations, migrationsDir, log);
  } finally {
    await client.end();
  }
}

async function acquireMigrateLock(client: Client, timeoutMs: number, log: (message: string) => void) {
  const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
    PRISMA_MIGRATE_LOCK_KEY,
  ]);
  if (rows[0]?.locked) return;
  log('another migration run holds the migrate lock; waiting for it');
  await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
  } catch (error) {
    if (error instanceof DatabaseError && error.code === LOCK_NOT_AVAILABLE) {
      throw new MigrationError(
        'LOCK_TIMEOUT',
        `Timed out after ${timeoutMs} ms waiting for the migrate lock (pg_advisory_lock(${PRISMA_MIGRATE_LOCK_KEY})). ` +
          'Another migration is still running; retry when it has finished.',
        [],
        undefined,
        { cause: error },
      );
    }
    throw error;
  }
  await client.query('RESET lock_timeout');
}

async function migrate(
  client: Client,
  migrations: MigrationFile[],
  migrationsDir: string,
  log: (message: string) => void,
): Promise<ApplyMigrationsResult> {
  const history = new MigrationHistory(client);
  const database = client.database ?? '<default>';

  if (!(await history.exists())) {
    const tables = await history.tablesInCurrentSchema();
    if (tables.length > 0) {
      throw new MigrationError(
        'SCHEMA_NOT_EMPTY',
        `Refusing to migrate database ${database}: it already has tables (${tables.join(', ')}) but no ` +
          '_prisma_migrations history. Baseline it (prisma migrate resolve --applied <migration>) or use an empty database.',
      );
    }
    await history.create();
    log('created _prisma_migrations');
  }

  const records = await history.list();
  const problems = findHistoryProblems(records, migrations, migrationsDir);
  if (problems.length > 0) {
    throw new MigrationError(
      'HISTORY_CONFLICT',
      `Refusing to migrate database ${database}: its migration history does not match ${migrationsDir}. ` +
        `Nothing was changed.\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
      problems,
    );
  }

  const done = new Set(records.filter(isApplied).map((record) => record.migrationName));
  const result: ApplyMigrationsResult = { applied: [], alreadyApplied: [] };
  for (const migration of migrations) {
    if (done.has(migration.name)) {
      result.alreadyApplied.push(migration.name);
      continue;
    }
    const started = Date.now();
    await applyOne(client, history, migration, migrationsDir);
    log(`applied ${migration.name} (${Date.now() - started} ms)`);
    result.applied.push(migration.name);
  }
  return result;
}

/** Every reason to refuse, not just the first: the operator fixes them all in one go. */
export function findHistoryProblems(
  records: readonly MigrationRecord[],
  migrations: readonly MigrationFile[],
  migrationsDir: string,
): string[] {
  const files = new Map(migrations.map((migration) => [migration.name, migration]));
  const problems: string[] = [];
  // Rolled-back records are history only: Prisma ignores them, and so may we.
  for (const record of records.filter((r) => r.rolledBackAt === null)) {
    const name = record.migrationName;
    const file = files.get(name);
    if (record.finishedAt === null) {
      const logs = record.logs ? ` Its log: ${record.logs.split('\n')[0]}` : '';
      problems.push(
        `${name}: a previous attempt (started ${record.startedAt.toISOString()}) failed and was never resolved, ` +
          `so it may be partly applied.${logs} Repair the database by hand, then run ` +
          `\`prisma migrate resolve --rolled-back ${name}\` (or \`--applied ${name}\` if you completed it) and retry.`,
      );
    } else if (!file) {
      problems.push(
        `${name}: recorded as applied, but ${migrationsDir}/${name}/migration.sql does not exist. ` +
          'Restore it from version control: applied migrations must never be deleted or renamed.',
      );
    } else if (!scriptMatchesChecksum(file.script, record.checksum)) {
      problems.push(
        `${name}: migration.sql was modified after it was applied (recorded checksum ${record.checksum}, ` +
          `file now ${file.checksum}). Restore the applied version and put the change in a new migration.`,
      );
    }
  }
  return [...new Set(problems)];
}

function isApplied(record: MigrationRecord): boolean {
  return record.rolledBackAt === null && record.finishedAt !== null;
}

/**
 * Runs one script and writes its history row in ONE transaction. Prisma does not wrap scripts (it
 * records a failed row and leaves whatever ran, which then needs `migrate resolve` by hand); we do,
 * so a failing migration leaves nothing behind and can simply be fixed and re-run. The price: a
 * script must not contain statements that refuse to run in a transaction (CREATE INDEX CONCURRENTLY,
 * VACUUM, its own BEGIN/COMMIT); put those in a migration of their own and apply it with Prisma.
 */
async function applyOne(
  client: Client,
  history: MigrationHistory,
  migration: MigrationFile,
  migrationsDir: string,
) {
  const startedAt = new Date();
  await client.query('BEGIN');
  try {
    // No parameters: pg then uses the simple-query protocol, which runs a multi-statement script.
    await client.query(migration.script);
    await history.recordApplied(migration.name, migration.checksum, startedAt);
    await client.query('COMMIT');
  } catch (error) {
    const rollback = await client.query('ROLLBACK').then(
      () => 'It was rolled back: nothing of it was applied or recorded.',
      // The connection itself failed: the server discards an uncommitted transaction on disconnect.
      (rollbackError: Error) =>
        `Its transaction was abandoned (${rollbackError.message}): nothing was committed.`,
    );
    throw new MigrationError(
      'MIGRATION_FAILED',
      `Migration ${migration.name} failed: ${describeSqlError(error, migration.script)}. ${rollback} ` +
        `Fix ${migrationsDir}/${migration.name}/migration.sql and run the migrations again.`,
      [],
      migration.name,
      { cause: error },
    );
  }
}

function describeSqlError(error: unknown, script: string): string {
  if (!(error instanceof DatabaseError)) return error instanceof Error ? error.message : String(error);
  const parts = [`${error.message} (SQLSTATE ${error.code})`];
  if (error.position) {
    // pg reports a 1-based character offset into the whole script; people want the line.
    const line = script.slice(0, Number(error.position) - 1).split('\n').length;
    parts.push(`at line ${line} of migration.sql`);
  }
  if (error.detail) parts.push(`detail: ${error.detail}`);
  if (error.where) parts.push(`where: ${error.where}`);
  return parts.join(', ');
}
