import { createPrismaClient } from '@switchboard/data-access';

/** Raw SQL against a test database, for assertions on what is stored (sealed columns and the like). */
export interface RawSql {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
  end(): Promise<void>;
}

export function rawSql(databaseUrl: string): RawSql {
  const prisma = createPrismaClient(databaseUrl);
  return {
    async query<T>(text: string, params: readonly unknown[] = []) {
      return { rows: await prisma.$queryRawUnsafe<T[]>(text, ...params) };
    },
    end: () => prisma.$disconnect(),
  };
}
