import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client } from 'pg';

import { createScratchDatabase, type ScratchDatabase } from './database-admin';
import { findMigrationsDir } from './migration-directory';
import { applyMigrations } from './migration-runner';
import { readDatabaseSchema } from './schema-drift/database-schema';
import { expectedSchemaFromDmmf, readDmmf } from './schema-drift/expected-schema';
import { compareSchemas, type SchemaShape } from './schema-drift/schema-shape';

// The migrated database must be exactly what prisma/schema.prisma declares, in both directions.
// Schema side: Prisma's own parser (DMMF from @prisma/prisma-schema-wasm); database side: pg_catalog.
const schemaPath = join(findMigrationsDir(), '..', 'schema.prisma');
const expected = expectedSchemaFromDmmf(readDmmf(readFileSync(schemaPath, 'utf8')));
// The server @switchboard/testing uses (data-access may not import that lib).
const adminUrl = process.env['TEST_DATABASE_ADMIN_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres';

describe('schema drift: prisma/migrations vs prisma/schema.prisma', () => {
  let db: ScratchDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createScratchDatabase(adminUrl);
    await applyMigrations({ databaseUrl: db.url });
    client = new Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  async function drift(): Promise<string[]> {
    return compareSchemas(expected, await readDatabaseSchema(client));
  }

  it('the migrated database matches the schema exactly', async () => {
    const differences = await drift();
    if (differences.length > 0) {
      throw new Error(
        `The migrations and schema.prisma disagree (${differences.length} differences):\n` +
          `${differences.map((d) => `  - ${d}`).join('\n')}\n` +
          'Write a migration that brings the database to the schema (or fix the schema).',
      );
    }
  });

  it('reads every kind of object the schema declares (a vacuous comparison would pass too)', () => {
    const count = (shape: SchemaShape) => ({
      tables: shape.tables.length,
      columns: shape.tables.reduce((sum, table) => sum + table.columns.length, 0),
      enums: shape.enums.length,
      foreignKeys: shape.foreignKeys.length,
      gin: shape.indexes.filter((index) => index.method === 'gin').length,
      trigram: shape.indexes.filter((index) => index.opclasses.includes('gin_trgm_ops')).length,
      composite: shape.indexes.filter((index) => index.kind === 'primary' && index.columns.length > 1).length,
    });
    // Floors, not exact counts: each migration adds objects, and a vacuous read would find none.
    const found = count(expected);
    expect(found.tables).toBeGreaterThanOrEqual(21);
    expect(found.columns).toBeGreaterThanOrEqual(195);
    expect(found.enums).toBeGreaterThanOrEqual(3);
    expect(found.foreignKeys).toBeGreaterThanOrEqual(17);
    expect(found.gin).toBeGreaterThanOrEqual(3);
    expect(found.trigram).toBeGreaterThanOrEqual(2);
    expect(found.composite).toBeGreaterThanOrEqual(4);
    const users = expected.tables.find((table) => table.name === 'users');
    expect(users?.columns.find((column) => column.name === 'username')).toEqual({
      name: 'username',
      type: 'character varying(64)',
      nullable: false,
      default: null,
    });
  });

  describe('the comparer reports each kind of drift, and only that', () => {
    // Each case changes one thing inside a transaction, checks the report, and rolls back.
    async function driftAfter(sql: string): Promise<string[]> {
      await client.query('BEGIN');
      try {
        await client.query(sql);
        return await drift();
      } finally {
        await client.query('ROLLBACK');
      }
    }

    it('a column type changed', async () => {
      expect(await driftAfter('ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(255)')).toEqual([
        'column users.email: schema declares type character varying(254), database has character varying(255)',
      ]);
    });

    it('a timestamp precision changed', async () => {
      expect(await driftAfter('ALTER TABLE sessions ALTER COLUMN expires_at TYPE TIMESTAMPTZ(6)')).toEqual([
        'column sessions.expires_at: schema declares type timestamp(3) with time zone, database has timestamp(6) with time zone',
      ]);
    });

    it('nullability and defaults changed', async () => {
      expect(
        await driftAfter(
          `ALTER TABLE devices ALTER COLUMN hostname SET NOT NULL;
           ALTER TABLE devices ALTER COLUMN banned DROP DEFAULT;
           ALTER TABLE devices ALTER COLUMN tags DROP DEFAULT`,
        ),
      ).toEqual([
        'column devices.banned: schema declares default false, database has (none)',
        'column devices.hostname: schema declares NULL allowed, database has NOT NULL',
        'column devices.tags: schema declares default ARRAY[]::text[], database has (none)',
      ]);
    });

    it('a GIN trigram index dropped, and one rebuilt without its operator class', async () => {
      expect(
        await driftAfter(
          `DROP INDEX devices_rustdesk_id_trgm_idx;
           DROP INDEX devices_hostname_trgm_idx;
           CREATE INDEX devices_hostname_trgm_idx ON devices (hostname)`,
        ),
      ).toEqual([
        'index devices_hostname_trgm_idx: schema declares INDEX ON devices USING gin (hostname gin_trgm_ops), ' +
          'database has INDEX ON devices USING btree (hostname)',
        'index devices_rustdesk_id_trgm_idx: declared by the schema, missing from the database ' +
          '(INDEX ON devices USING gin (rustdesk_id gin_trgm_ops))',
      ]);
    });

    it('a unique index made non-unique', async () => {
      expect(
        await driftAfter(
          'DROP INDEX users_username_key; CREATE INDEX users_username_key ON users (username)',
        ),
      ).toEqual([
        'index users_username_key: schema declares UNIQUE ON users USING btree (username), ' +
          'database has INDEX ON users USING btree (username)',
      ]);
    });

    it('a foreign key with another onDelete, and one missing', async () => {
      expect(
        await driftAfter(
          `ALTER TABLE sessions DROP CONSTRAINT sessions_user_id_fkey;
           ALTER TABLE sessions ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)
             ON DELETE RESTRICT ON UPDATE CASCADE;
           ALTER TABLE devices DROP CONSTRAINT devices_owner_id_fkey`,
        ),
      ).toEqual([
        'foreign key devices_owner_id_fkey: declared by the schema, missing from the database ' +
          '(devices(owner_id) REFERENCES users(id) ON DELETE SET NULL ON UPDATE CASCADE)',
        'foreign key sessions_user_id_fkey: schema declares sessions(user_id) REFERENCES users(id) ON DELETE CASCADE ' +
          'ON UPDATE CASCADE, database has sessions(user_id) REFERENCES users(id) ON DELETE RESTRICT ON UPDATE CASCADE',
      ]);
    });

    it('an enum value added', async () => {
      expect(await driftAfter(`ALTER TYPE role ADD VALUE 'auditor'`)).toEqual([
        'enum role: schema declares values [admin, operator, viewer, pro], database has values [admin, operator, viewer, pro, auditor]',
      ]);
    });

    it('objects the schema does not declare (the reverse direction)', async () => {
      expect(
        await driftAfter(
          `CREATE TABLE scratch (id INTEGER PRIMARY KEY);
           ALTER TABLE users ADD COLUMN nickname TEXT;
           CREATE INDEX users_email_idx ON users (email);
           ALTER TABLE devices ADD CONSTRAINT devices_memory_check CHECK (memory <> '');
           CREATE TYPE mood AS ENUM ('ok')`,
        ),
      ).toEqual([
        'column users.nickname: in the database, not declared by the schema (text NULL allowed)',
        "constraint devices.devices_memory_check: in the database, not declared by the schema (CHECK (((memory)::text <> ''::text)))",
        'enum mood: in the database, not declared by the schema (values [ok])',
        'index scratch_pkey: in the database, not declared by the schema (PRIMARY KEY ON scratch USING btree (id))',
        'index users_email_idx: in the database, not declared by the schema (INDEX ON users USING btree (email))',
        'table scratch: in the database, not declared by the schema (table)',
      ]);
    });

    it('a table missing', async () => {
      expect(await driftAfter('DROP TABLE audit_entries')).toEqual(
        expect.arrayContaining([
          'table audit_entries: declared by the schema, missing from the database (model AuditEntry)',
          'index audit_entries_pkey: declared by the schema, missing from the database ' +
            '(PRIMARY KEY ON audit_entries USING btree (seq))',
        ]),
      );
    });
  });
});
