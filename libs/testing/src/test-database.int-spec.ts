import {
  applyMigrations,
  createDatabase,
  createPrismaClient,
  dropDatabase,
  findMigrationsDir,
  readMigrationDirectory,
} from '@switchboard/data-access';

import { createTestDatabase, testDatabaseAdminUrl } from './test-database';

const migrationNames = readMigrationDirectory(findMigrationsDir()).map((migration) => migration.name);

describe('createTestDatabase', () => {
  it('gives each caller its own fully migrated database', async () => {
    const [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    try {
      expect(first.name).toMatch(/^sb_test_[0-9a-f]{16}$/);
      expect(second.name).not.toBe(first.name);
      expect(new URL(first.url).pathname).toBe(`/${first.name}`);
      // The runner itself confirms every migration is applied and unchanged.
      expect(await applyMigrations({ databaseUrl: first.url })).toEqual({
        applied: [],
        alreadyApplied: migrationNames,
      });

      // Isolation: a row written in one is not in the other.
      const a = createPrismaClient(first.url);
      const b = createPrismaClient(second.url);
      try {
        await a.$executeRawUnsafe(`INSERT INTO settings (key, value) VALUES ('isolation.probe', '1')`);
        expect(await a.$queryRawUnsafe(`SELECT key FROM settings`)).toEqual([{ key: 'isolation.probe' }]);
        expect(await b.$queryRawUnsafe(`SELECT key FROM settings`)).toEqual([]);
      } finally {
        await Promise.all([a.$disconnect(), b.$disconnect()]);
      }
    } finally {
      await Promise.all([first.drop(), second.drop()]);
    }
  });

  it('drop() removes the database even with a connection still open, and may be called twice', async () => {
    const database = await createTestDatabase();
    const leaked = createPrismaClient(database.url);
    await leaked.$queryRawUnsafe('SELECT 1');

    await database.drop();
    await database.drop();

    // Creating the same name again succeeds only because it is gone.
    await createDatabase(testDatabaseAdminUrl(), database.name);
    await dropDatabase(testDatabaseAdminUrl(), database.name);
    await leaked.$disconnect();
  });
});
