import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createScratchDatabase } from '../database-admin';
import { readMigrationDirectory } from '../migration-directory';
import { applyMigrations } from '../migration-runner';
import { PrismaSchemaEngine } from './prisma-engine';

export interface CreateMigrationOptions {
  /** snake_case, e.g. `add_device_notes`; becomes the folder's suffix. */
  name: string;
  /** A database on the server where the scratch database is created (e.g. its `postgres` database). */
  adminUrl: string;
  migrationsDir: string;
  schemaPath: string;
  /** The clock, for the folder's timestamp. */
  now?: () => Date;
  log?: (message: string) => void;
}

export type CreateMigrationResult =
  { created: true; folder: string; scriptPath: string; script: string } | { created: false };

export class InvalidMigrationNameError extends Error {
  override readonly name = 'InvalidMigrationNameError';
}

const NAME_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
// The folder name goes into _prisma_migrations.migration_name VARCHAR(255); stay far below it.
const MAX_NAME_LENGTH = 100;
const TIMESTAMP_PREFIX = /^\d{14}_/;

export function validateMigrationName(name: string): void {
  if (!NAME_PATTERN.test(name) || name.length > MAX_NAME_LENGTH) {
    throw new InvalidMigrationNameError(
      `Invalid migration name ${JSON.stringify(name)}: use snake_case (a-z, 0-9, single underscores, ` +
        `starting with a letter), at most ${MAX_NAME_LENGTH} characters, e.g. add_device_notes.`,
    );
  }
}

/** Prisma's folder timestamp: UTC yyyymmddHHMMSS. */
export function migrationTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * `<timestamp>_<name>`, where the timestamp is now unless that would not sort after the newest
 * existing migration (a clock behind a committed, hand-dated folder): the runner applies folders in
 * name order, so the new one must come last; it then takes the newest timestamp plus one second.
 */
export function migrationFolderName(name: string, now: Date, existing: readonly string[]): string {
  let stamp = migrationTimestamp(now);
  const newest = existing
    .filter((folder) => TIMESTAMP_PREFIX.test(folder))
    .map((folder) => folder.slice(0, 14))
    .sort()
    .at(-1);
  if (newest !== undefined && stamp <= newest) {
    const part = (from: number, to: number) => Number(newest.slice(from, to));
    const newestMs = Date.UTC(
      part(0, 4),
      part(4, 6) - 1,
      part(6, 8),
      part(8, 10),
      part(10, 12),
      part(12, 14),
    );
    stamp = migrationTimestamp(new Date(newestMs + 1000));
  }
  return `${stamp}_${name}`;
}

/**
 * Writes the migration that takes a database migrated by `migrationsDir` to `schemaPath`, as
 * `prisma migrate dev --create-only` would, using Prisma's own schema engine for the SQL: applies the
 * existing migrations to a scratch database with our runner, diffs it against the schema, and writes
 * `<migrationsDir>/<timestamp>_<name>/migration.sql` unless the diff is empty. The scratch database
 * is always dropped.
 *
 * Extensions: pg_trgm is created by the first migration but not declared in schema.prisma (declaring
 * it needs the `postgresqlExtensions` preview feature). Without that feature the engine neither reads
 * nor diffs extensions, so it never proposes DROP EXTENSION; the gin_trgm_ops indexes that need it are
 * declared and compared like any other index (migrations-match-schema.int-spec.ts checks both).
 */
export async function createMigration(options: CreateMigrationOptions): Promise<CreateMigrationResult> {
  validateMigrationName(options.name);
  const log = options.log ?? (() => undefined);
  // Reads and checks every existing migration before any database work.
  const existing = readMigrationDirectory(options.migrationsDir).map((migration) => migration.name);
  const folder = migrationFolderName(options.name, (options.now ?? (() => new Date()))(), existing);

  const scratch = await createScratchDatabase(options.adminUrl, 'sb_new_migration_');
  let diff;
  try {
    log(`applying ${existing.length} migration(s) to scratch database ${scratch.name}`);
    await applyMigrations({ databaseUrl: scratch.url, migrationsDir: options.migrationsDir });
    const engine = new PrismaSchemaEngine({
      migrationsDir: options.migrationsDir,
      schemaPath: options.schemaPath,
    });
    diff = await engine.diff(scratch.url);
  } finally {
    await scratch.drop();
  }
  if (!diff.changed) return { created: false };

  const dir = join(options.migrationsDir, folder);
  mkdirSync(dir); // not recursive: fails rather than overwrite a folder that already exists
  const scriptPath = join(dir, 'migration.sql');
  writeFileSync(scriptPath, diff.script);
  return { created: true, folder, scriptPath, script: diff.script };
}
