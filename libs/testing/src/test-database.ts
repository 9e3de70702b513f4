import { applyMigrations, createScratchDatabase } from '@switchboard/data-access';

export interface TestDatabase {
  /** Connection URL of the new database (same server and role as the admin URL). */
  url: string;
  /** Its name, `sb_test_<random>`. */
  name: string;
  /** Terminates any connection still open to it and drops it. Safe to call twice. */
  drop(): Promise<void>;
}

const DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * Where test databases are created. Test-only infrastructure, so it reads its one override here
 * rather than through an app's config.
 */
export function testDatabaseAdminUrl(): string {
  return process.env['TEST_DATABASE_ADMIN_URL'] || DEFAULT_ADMIN_URL;
}

/**
 * A fresh database of its own for one test file, with every migration applied by the real runner,
 * so parallel test files never see each other's rows. Call `drop()` in `afterAll`.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const database = await createScratchDatabase(testDatabaseAdminUrl(), 'sb_test_');
  try {
    await applyMigrations({ databaseUrl: database.url });
  } catch (error) {
    await database.drop();
    throw error;
  }
  return database;
}
