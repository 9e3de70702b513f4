import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';

import { type Prisma, PrismaClient } from './generated/prisma/client';

export type { PrismaClient };
/** What an interactive transaction hands its callback; repositories accept it in place of the client. */
export type TransactionClient = Prisma.TransactionClient;

export interface PrismaClientOptions {
  /** Size of the pg pool behind the client (pg's default is 10). */
  maxConnections?: number;
  /** Shown in pg_stat_activity, to tell services apart. */
  applicationName?: string;
}

const poolOfClient = new WeakMap<PrismaClient, Pool>();

/** The one way to build a Prisma client: Prisma 7 talks to Postgres through the pg driver adapter. */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: options.maxConnections,
    application_name: options.applicationName,
    // Idle connections never hold the process open: if Prisma itself never connected, its
    // $disconnect does not end this pool.
    allowExitOnIdle: true,
  });
  // An idle connection that breaks (Postgres restarted) is an 'error' event on the pool; unhandled,
  // it would crash the process. The next query reports the outage instead.
  pool.on('error', () => undefined);
  const client = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  poolOfClient.set(client, pool);
  return client;
}

/**
 * The pg pool behind a client from createPrismaClient, for the few statements that must bypass
 * Prisma: its debug module keeps the arguments of the last ~100 queries reachable even with
 * debugging off, which for signal's bulk writes pinned tens of MiB of rows already written.
 */
export function poolOf(client: PrismaClient): Pool {
  const pool = poolOfClient.get(client);
  if (pool === undefined) throw new Error('this PrismaClient was not made by createPrismaClient');
  return pool;
}
