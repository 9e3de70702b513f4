import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client, DatabaseError, escapeIdentifier } from 'pg';

const DUPLICATE_DATABASE = '42P04';
const OBJECT_IN_USE = '55006';

/** The database a connection URL points at (its path), e.g. `switchboard`. */
export function databaseNameOf(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!name) throw new Error(`The database URL ${redactUrl(databaseUrl)} names no database.`);
  return name;
}

/** The same server and credentials as `databaseUrl`, but database `name`. */
export function withDatabaseName(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/** A URL safe to print: the password replaced. */
export function redactUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<unparseable database URL>';
  }
}

async function withAdminClient<T>(adminUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl, application_name: 'switchboard-db-admin' });
  // Failures surface through the awaited queries; this only keeps a late socket error from crashing us.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** CREATE DATABASE `name` through `adminUrl` (any database on the server the role may connect to). */
export async function createDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdminClient(adminUrl, async (client) => {
    await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
  });
}

/**
 * A terminated backend may still be exiting for a few milliseconds, and Postgres refuses to drop a
 * database someone is "in" (SQLSTATE 55006): wait it out.
 */
async function retryWhileInUse<T>(work: () => Promise<T>, attempts = 50): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !(error instanceof DatabaseError) || error.code !== OBJECT_IN_USE)
        throw error;
      await sleep(20 * Math.min(attempt, 10));
    }
  }
}

/**
 * Creates the database `databaseUrl` names unless it exists, connecting to the `postgres` maintenance
 * database of the same server. Returns whether it created it. Safe to race: a concurrent creator wins.
 */
export async function ensureDatabaseExists(
  databaseUrl: string,
  maintenanceDatabase = 'postgres',
): Promise<boolean> {
  const name = databaseNameOf(databaseUrl);
  return withAdminClient(withDatabaseName(databaseUrl, maintenanceDatabase), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
      return true;
    } catch (error) {
      if (error instanceof DatabaseError && error.code === DUPLICATE_DATABASE) return false;
      throw error;
    }
  });
}

/**
 * Drops database `name` (if it exists) after terminating every connection still open to it, so a
 * test that leaked a pool cannot block the cleanup.
 */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdminClient(adminUrl, (client) =>
    // Terminate before every attempt: a pool may reconnect, and terminated backends take a moment to go.
    retryWhileInUse(async () => {
      await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
      await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)}`);
    }),
  );
}

export interface ScratchDatabase {
  url: string;
  name: string;
  /** Terminates leftover connections and drops it; calling it again is a no-op. */
  drop(): Promise<void>;
}

/** A new, empty, uniquely named database (`<prefix><16 hex>`) on the server `adminUrl` reaches. */
export async function createScratchDatabase(adminUrl: string, prefix = 'sb_test_'): Promise<ScratchDatabase> {
  const name = `${prefix}${randomBytes(8).toString('hex')}`;
  await createDatabase(adminUrl, name);
  let dropped: Promise<void> | undefined;
  return {
    url: withDatabaseName(adminUrl, name),
    name,
    drop: () => (dropped ??= dropDatabase(adminUrl, name)),
  };
}
