import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { MigrationError } from './migration-error';

export interface MigrationFile {
  /** The directory name, e.g. `20261122000000_init`: what `_prisma_migrations.migration_name` holds. */
  name: string;
  script: string;
  /** Lowercase hex SHA-256 of the script, as Prisma stores it. */
  checksum: string;
}

const LOCK_FILE = 'migration_lock.toml';
const SCRIPT_FILE = 'migration.sql';

/** Prisma's checksum: SHA-256 of the script's UTF-8 bytes, rendered as 64 zero-padded lowercase hex digits. */
export function migrationChecksum(script: string | Buffer): string {
  return createHash('sha256').update(script).digest('hex');
}

/**
 * Whether a script still matches a recorded checksum, with Prisma's own leniency
 * (schema-engine `checksum::script_matches_checksum`): line endings may have been converted by git
 * (CRLF <-> LF), and very old Prisma versions stored the hex without zero padding.
 */
export function scriptMatchesChecksum(script: string, recorded: string): boolean {
  const variants = [script, script.replace(/\r\n/g, '\n'), script.replace(/\n/g, '\r\n')];
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant).digest();
    if (recorded.length !== 0 && recorded.length !== 64) {
      return Array.from(digest, (byte) => byte.toString(16)).join('') === recorded;
    }
    return digest.toString('hex') === recorded;
  });
}

/**
 * Reads `<dir>/*\/migration.sql` in name order, as `prisma migrate deploy` does: only folders count,
 * and a folder without migration.sql is an error rather than something to skip silently.
 */
export function readMigrationDirectory(migrationsDir: string): MigrationFile[] {
  let entries;
  try {
    entries = readdirSync(migrationsDir, { withFileTypes: true });
  } catch (error) {
    throw new MigrationError(
      'INVALID_MIGRATIONS_DIRECTORY',
      `Cannot read the migrations directory ${migrationsDir}: ${(error as Error).message}`,
      [],
      undefined,
      { cause: error },
    );
  }
  checkLockFileProvider(migrationsDir);

  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return names.map((name) => {
    const scriptPath = join(migrationsDir, name, SCRIPT_FILE);
    if (!existsSync(scriptPath)) {
      throw new MigrationError(
        'INVALID_MIGRATIONS_DIRECTORY',
        `Migration folder ${name} has no ${SCRIPT_FILE} (${scriptPath}). Add the script or remove the folder.`,
      );
    }
    const bytes = readFileSync(scriptPath);
    return { name, script: bytes.toString('utf8'), checksum: migrationChecksum(bytes) };
  });
}

// Prisma refuses to apply migrations written for another provider (P3019); so do we.
function checkLockFileProvider(migrationsDir: string): void {
  const lockPath = join(migrationsDir, LOCK_FILE);
  if (!existsSync(lockPath)) return;
  const providerLine = readFileSync(lockPath, 'utf8')
    .split(/\r?\n/)
    .find((line) => line.startsWith('provider'));
  const provider = providerLine?.replace(/^provider\s*=\s*/, '').replace(/^"|"$/g, '');
  if (provider !== 'postgresql') {
    throw new MigrationError(
      'INVALID_MIGRATIONS_DIRECTORY',
      `${lockPath} says provider ${provider ?? '<none>'}, but this runner only applies postgresql migrations.`,
    );
  }
}

/**
 * Finds `prisma/migrations` by walking up from `startDir`, so the same code works from the TypeScript
 * sources (tests), from `dist/` (the CLI) and from a container that copies the repository layout.
 */
export function findMigrationsDir(startDir: string = __dirname): string {
  for (let dir = startDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'prisma', 'migrations');
    if (existsSync(join(candidate, LOCK_FILE))) return candidate;
    if (dirname(dir) === dir) {
      throw new MigrationError(
        'INVALID_MIGRATIONS_DIRECTORY',
        `No prisma/migrations/${LOCK_FILE} found in ${startDir} or any parent directory.`,
      );
    }
  }
}
