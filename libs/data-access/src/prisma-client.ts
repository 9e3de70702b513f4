import { PrismaPg } from '@prisma/adapter-pg';

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

/** The one way to build a Prisma client: Prisma 7 talks to Postgres through the pg driver adapter. */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: options.maxConnections,
    application_name: options.applicationName,
  });
  return new PrismaClient({ adapter });
}
