import { execFile } from 'node:child_process';
import { join } from 'node:path';

import type {
  ApplyMigrationsOutput,
  DiagnoseMigrationHistoryOutput,
  DiffResult,
} from '@prisma/schema-engine-wasm';

import { findMigrationsDir } from '../migration-directory';

export interface PrismaSchemaEngineOptions {
  /** Defaults to the repository's `prisma/migrations`. */
  migrationsDir?: string;
  /** Defaults to `schema.prisma` beside the migrations directory (Prisma's layout). */
  schemaPath?: string;
}

/** What Prisma would have to run on a database to make it match schema.prisma. */
export interface SchemaDiff {
  /** False when the database already matches: `script` is then Prisma's "empty migration" comment. */
  changed: boolean;
  /** The SQL, as `prisma migrate diff --script` prints it. */
  script: string;
}

interface EngineResults {
  deploy: ApplyMigrationsOutput;
  diagnose: DiagnoseMigrationHistoryOutput;
  diff: DiffResult;
}

// The engine's `diff` exit code when `exitCode: true` was asked for and there are changes.
const DIFF_HAS_CHANGES = 2;
const HARNESS = join(__dirname, 'engine-harness.mjs');

/**
 * Prisma's real schema engine (the one `prisma migrate` runs, compiled to wasm), one command per
 * child process: see engine-harness.mjs for why it cannot run in this process. Each call connects to
 * `databaseUrl` afresh and leaves nothing running.
 */
export class PrismaSchemaEngine {
  readonly migrationsDir: string;
  readonly schemaPath: string;

  constructor(options: PrismaSchemaEngineOptions = {}) {
    this.migrationsDir = options.migrationsDir ?? findMigrationsDir();
    this.schemaPath = options.schemaPath ?? join(this.migrationsDir, '..', 'schema.prisma');
  }

  /** `prisma migrate deploy`: applies the pending migrations and records them. */
  deploy(databaseUrl: string): Promise<ApplyMigrationsOutput> {
    return this.run('deploy', databaseUrl);
  }

  /** What `prisma migrate status` reports: edited, failed and unapplied migrations. */
  diagnose(databaseUrl: string): Promise<DiagnoseMigrationHistoryOutput> {
    return this.run('diagnose', databaseUrl);
  }

  /** `prisma migrate diff --from-config-datasource --to-schema schema.prisma --script --exit-code`. */
  async diff(databaseUrl: string): Promise<SchemaDiff> {
    const result = await this.run('diff', databaseUrl);
    return { changed: result.exitCode === DIFF_HAS_CHANGES, script: result.stdout ?? '' };
  }

  private run<Command extends keyof EngineResults>(
    command: Command,
    databaseUrl: string,
  ): Promise<EngineResults[Command]> {
    const request = JSON.stringify({
      command,
      url: databaseUrl,
      migrationsDir: this.migrationsDir,
      schemaPath: this.schemaPath,
    });
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [HARNESS, request],
        { maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) {
            const why = stderr.trim() || error.message;
            reject(new Error(`Prisma schema engine (${command}) failed: ${why}`, { cause: error }));
            return;
          }
          try {
            resolve(JSON.parse(stdout) as EngineResults[Command]);
          } catch (parseError) {
            reject(
              new Error(`Prisma schema engine (${command}) printed no JSON: ${stdout.slice(0, 500)}`, {
                cause: parseError,
              }),
            );
          }
        },
      );
    });
  }
}
