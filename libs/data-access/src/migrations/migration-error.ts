/** Why the runner refused to run or stopped. Each code names one thing an operator must fix. */
export type MigrationErrorCode =
  /** migrations directory unreadable, a migration folder without migration.sql, wrong provider in the lock file */
  | 'INVALID_MIGRATIONS_DIRECTORY'
  /** the database has tables but no `_prisma_migrations`: it needs a baseline first (Prisma's P3005) */
  | 'SCHEMA_NOT_EMPTY'
  /** recorded history disagrees with the files: edited or missing migrations, or an unresolved failed one */
  | 'HISTORY_CONFLICT'
  /** a migration's SQL failed; its transaction was rolled back */
  | 'MIGRATION_FAILED'
  /** another runner held the migration lock for longer than the lock timeout */
  | 'LOCK_TIMEOUT';

export class MigrationError extends Error {
  override readonly name = 'MigrationError';

  constructor(
    readonly code: MigrationErrorCode,
    message: string,
    /** One line per problem found (all of them, not only the first), for HISTORY_CONFLICT. */
    readonly problems: readonly string[] = [],
    /** The migration being applied, for MIGRATION_FAILED. */
    readonly migrationName?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
