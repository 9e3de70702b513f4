import { randomUUID } from 'node:crypto';

import type { ClientBase } from 'pg';

/**
 * The `_prisma_migrations` table, byte for byte the DDL of Prisma's schema engine
 * (prisma-engines: schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs,
 * `create_migrations_table`), so `prisma migrate deploy/status` on a connected machine reads our
 * history as its own. Unqualified like Prisma's: it lives in the connection's current schema.
 */
export const CREATE_MIGRATIONS_TABLE_SQL = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
`;

/** Prisma Migrate's advisory lock key (same source file, `acquire_lock`). */
export const PRISMA_MIGRATE_LOCK_KEY = 72707369;

export interface MigrationRecord {
  id: string;
  checksum: string;
  finishedAt: Date | null;
  migrationName: string;
  logs: string | null;
  rolledBackAt: Date | null;
  startedAt: Date;
  appliedStepsCount: number;
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

/** Reads and writes `_prisma_migrations` on one connection (the one holding the migrate lock). */
export class MigrationHistory {
  constructor(private readonly client: ClientBase) {}

  async exists(): Promise<boolean> {
    const { rows } = await this.client.query<{ exists: boolean }>(
      `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists`,
    );
    return rows[0]?.exists === true;
  }

  async create(): Promise<void> {
    await this.client.query(CREATE_MIGRATIONS_TABLE_SQL);
  }

  /** Ordinary tables in the current schema: what Prisma checks before it adopts a database (P3005). */
  async tablesInCurrentSchema(): Promise<string[]> {
    const { rows } = await this.client.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname`,
    );
    return rows.map((row) => row.relname);
  }

  /** Every record, oldest first, as Prisma's `list_migrations` orders them. */
  async list(): Promise<MigrationRecord[]> {
    const { rows } = await this.client.query<MigrationRow>(
      `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
         FROM _prisma_migrations ORDER BY started_at ASC, migration_name ASC`,
    );
    return rows.map((row) => ({
      id: row.id,
      checksum: row.checksum,
      finishedAt: row.finished_at,
      migrationName: row.migration_name,
      logs: row.logs,
      rolledBackAt: row.rolled_back_at,
      startedAt: row.started_at,
      appliedStepsCount: row.applied_steps_count,
    }));
  }

  /**
   * Records a successfully applied migration the way `migrate deploy` leaves it: random v4 id,
   * client-side started_at/finished_at, logs NULL, one step (Prisma counts a whole script as one step).
   */
  async recordApplied(migrationName: string, checksum: string, startedAt: Date): Promise<string> {
    const id = randomUUID();
    await this.client.query(
      `INSERT INTO _prisma_migrations (id, checksum, started_at, finished_at, migration_name, applied_steps_count)
       VALUES ($1, $2, $3, $4, $5, 1)`,
      [id, checksum, startedAt, new Date(), migrationName],
    );
    return id;
  }
}
