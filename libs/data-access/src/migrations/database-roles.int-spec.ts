import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createAuditKeyring } from '@switchboard/audit';
import { Client, DatabaseError, escapeIdentifier } from 'pg';

import { AuditRepository } from '../audit/audit.repository';
import { DeviceRepository } from '../devices/device.repository';
import { createPrismaClient } from '../prisma-client';
import { createScratchDatabase, type ScratchDatabase } from './database-admin';
import { findMigrationsDir } from './migration-directory';
import { applyMigrations } from './migration-runner';
import {
  API_DATABASE_ROLE,
  scramSha256Verifier,
  setRuntimeRolePasswords,
  SIGNAL_DATABASE_ROLE,
  withDatabaseUser,
} from './runtime-roles';

jest.setTimeout(120_000);

// Migration 20261203010000_database_roles: what the api's and signal's runtime roles may and may not
// do, exercised by connecting as them (local connections are trusted, so no password is needed).
const adminUrl = process.env['TEST_DATABASE_ADMIN_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres';
const INSUFFICIENT_PRIVILEGE = '42501';
const ROLES_MIGRATION = '20261203010000_database_roles';

const databases: ScratchDatabase[] = [];
const tempDirs: string[] = [];
const tempRoles: string[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  for (const role of tempRoles) await query(adminUrl, `DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
});

async function migratedDatabase(migrationsDir?: string): Promise<string> {
  const database = await createScratchDatabase(adminUrl);
  databases.push(database);
  await applyMigrations({ databaseUrl: database.url, migrationsDir });
  return database.url;
}

async function query(url: string, sql: string, values: unknown[] = []): Promise<unknown[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** The SQLSTATE a statement fails with, or 'ok'. */
async function outcome(url: string, sql: string): Promise<string> {
  return query(url, sql).then(
    () => 'ok',
    (error: unknown) => (error instanceof DatabaseError ? (error.code ?? 'no code') : String(error)),
  );
}

function migrationsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-migrations-'));
  tempDirs.push(dir);
  cpSync(findMigrationsDir(), dir, { recursive: true });
  return dir;
}

describe('migration 20261203010000_database_roles', () => {
  let ownerUrl: string;
  let signalUrl: string;
  let apiUrl: string;

  beforeAll(async () => {
    ownerUrl = await migratedDatabase();
    signalUrl = withDatabaseUser(ownerUrl, SIGNAL_DATABASE_ROLE);
    apiUrl = withDatabaseUser(ownerUrl, API_DATABASE_ROLE);
    await query(
      ownerUrl,
      `INSERT INTO users (username, password_hash, role, updated_at) VALUES ('alice', 'x', 'admin', now());
       INSERT INTO devices (rustdesk_id, banned, ban_reason) VALUES ('banned1', true, 'test')`,
    );
  });

  describe('signal', () => {
    it('cannot read users, credentials, sessions or the audit chain', async () => {
      for (const table of [
        'users',
        'sessions',
        'refresh_tokens',
        'api_keys',
        'audit_entries',
        'audit_chain_head',
      ]) {
        expect({ table, result: await outcome(signalUrl, `SELECT count(*) FROM ${table}`) }).toEqual({
          table,
          result: INSUFFICIENT_PRIVILEGE,
        });
      }
    });

    it('does everything DeviceRepository does: snapshot, look-up, upsert, touch, rename', async () => {
      const prisma = createPrismaClient(signalUrl);
      try {
        const devices = new DeviceRepository(prisma);
        const seenAt = new Date();
        const registration = { uuid: new Uint8Array([1]), pk: null, ip: '192.0.2.1', seenAt };
        expect(
          await devices.upsertRegistrations([
            { rustdeskId: 'sig001', ...registration, admissionIfNew: 'admitted' },
            { rustdeskId: 'banned1', ...registration, admissionIfNew: 'admitted' },
          ]),
        ).toBe(2);
        expect(await devices.touchLastSeen([{ rustdeskId: 'sig001', ip: '192.0.2.2', seenAt }])).toBe(1);
        expect(await devices.changeId('sig001', 'sig002')).toBe('changed');
        expect(await devices.findAccess('banned1')).toMatchObject({ banned: true });
        expect(await devices.readRegistrationPolicy()).toBeUndefined();
        const seen: string[] = [];
        const summary = await devices.loadAccessSnapshot((page) => {
          seen.push(...page.map((row) => row.rustdeskId));
        });
        expect(summary.devices).toBe(2);
        expect(seen.sort()).toEqual(['banned1', 'sig002']);
      } finally {
        await prisma.$disconnect();
      }
    });

    it('cannot lift a ban, admit, restore or delete a device, nor change settings', async () => {
      const statements = [
        `UPDATE devices SET banned = false WHERE rustdesk_id = 'banned1'`,
        `UPDATE devices SET admission = 'admitted'`,
        `UPDATE devices SET deleted_at = NULL, revoked_at = NULL`,
        `DELETE FROM devices`,
        `TRUNCATE devices`,
        `INSERT INTO settings (key, value) VALUES ('registration.policy', '"open"')`,
        `UPDATE settings SET value = '"open"'`,
      ];
      for (const sql of statements) {
        expect({ sql, result: await outcome(signalUrl, sql) }).toEqual({
          sql,
          result: INSUFFICIENT_PRIVILEGE,
        });
      }
      expect(await query(ownerUrl, `SELECT banned FROM devices WHERE rustdesk_id = 'banned1'`)).toEqual([
        { banned: true },
      ]);
    });
  });

  describe('api', () => {
    it('appends to and verifies the audit chain, but cannot update, delete or truncate an entry or the head record', async () => {
      const prisma = createPrismaClient(apiUrl);
      const audit = new AuditRepository(prisma, {
        keyring: createAuditKeyring([{ keyId: 'k1', key: Buffer.alloc(32, 0x11) }]),
      });
      try {
        expect(await audit.append({ actorType: 'user', actorId: 'u-test', action: 'test.single' })).toBe(1n);
        expect(await audit.verify()).toMatchObject({ ok: true, count: 1 });
      } finally {
        await audit.close();
        await prisma.$disconnect();
      }
      for (const sql of [
        `UPDATE audit_entries SET action = 'test.forged'`,
        `DELETE FROM audit_entries`,
        `TRUNCATE audit_entries`,
        // The head record: deleting it would make a cut tail look like a fresh chain.
        `DELETE FROM audit_chain_head`,
        `TRUNCATE audit_chain_head`,
      ]) {
        expect({ sql, result: await outcome(apiUrl, sql) }).toEqual({ sql, result: INSUFFICIENT_PRIVILEGE });
      }
      expect(await query(ownerUrl, 'SELECT seq, action FROM audit_entries')).toEqual([
        { seq: '1', action: 'test.single' },
      ]);
      expect(await query(ownerUrl, 'SELECT seq FROM audit_chain_head')).toEqual([{ seq: '1' }]);
    });

    it('reads and writes the rest, but cannot touch the migration history or the schema', async () => {
      expect(await outcome(apiUrl, `UPDATE users SET display_name = 'A' WHERE username = 'alice'`)).toBe(
        'ok',
      );
      expect(await outcome(apiUrl, `UPDATE devices SET banned = false WHERE rustdesk_id = 'banned1'`)).toBe(
        'ok',
      );
      expect(await outcome(apiUrl, `INSERT INTO settings (key, value) VALUES ('k', '1')`)).toBe('ok');
      expect(await outcome(apiUrl, `DELETE FROM settings WHERE key = 'k'`)).toBe('ok');
      for (const sql of [
        'SELECT count(*) FROM _prisma_migrations',
        'DELETE FROM _prisma_migrations',
        'DROP TABLE audit_entries',
        'ALTER TABLE audit_entries DISABLE TRIGGER ALL',
        'CREATE TABLE scratch (id int)',
      ]) {
        expect({ sql, result: await outcome(apiUrl, sql) }).toEqual({ sql, result: INSUFFICIENT_PRIVILEGE });
      }
    });

    it('gets the tables and sequences later migrations create, by default privileges', async () => {
      const dir = migrationsCopy();
      mkdirSync(join(dir, '20991231000000_later_table'));
      writeFileSync(
        join(dir, '20991231000000_later_table', 'migration.sql'),
        'CREATE TABLE later_things (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);',
      );
      const url = withDatabaseUser(await migratedDatabase(dir), API_DATABASE_ROLE);
      expect(await outcome(url, `INSERT INTO later_things (name) VALUES ('one')`)).toBe('ok');
      expect(await query(url, 'SELECT id, name FROM later_things')).toEqual([{ id: '1', name: 'one' }]);
      expect(await outcome(url, 'TRUNCATE later_things')).toBe(INSUFFICIENT_PRIVILEGE);
      expect(await outcome(withDatabaseUser(url, SIGNAL_DATABASE_ROLE), 'SELECT * FROM later_things')).toBe(
        INSUFFICIENT_PRIVILEGE,
      );
    });
  });

  it('creates the cluster-wide roles once when several databases migrate at the same time', async () => {
    // The migration with role names of this test's own, so the race for CREATE ROLE really happens.
    const suffix = randomBytes(4).toString('hex');
    const roles = [`sb_test_api_${suffix}`, `sb_test_signal_${suffix}`];
    tempRoles.push(...roles);
    const dir = migrationsCopy();
    const file = join(dir, ROLES_MIGRATION, 'migration.sql');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replaceAll(API_DATABASE_ROLE, roles[0]!)
        .replaceAll(SIGNAL_DATABASE_ROLE, roles[1]!),
    );
    const urls = await Promise.all(Array.from({ length: 6 }, () => migratedDatabase(dir)));
    const created = await query(adminUrl, 'SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1', [
      roles,
    ]);
    expect(created).toEqual([...roles].sort().map((rolname) => ({ rolname })));
    for (const url of urls) {
      expect(await outcome(withDatabaseUser(url, roles[1]!), 'SELECT count(*) FROM users')).toBe(
        INSUFFICIENT_PRIVILEGE,
      );
      expect(await outcome(withDatabaseUser(url, roles[0]!), 'DELETE FROM audit_entries')).toBe(
        INSUFFICIENT_PRIVILEGE,
      );
    }
  });
});

describe('migration 20261203010000_database_roles run by an owner without CREATEROLE', () => {
  it('applies with a warning, creating and granting nothing (as on some managed services)', async () => {
    const suffix = randomBytes(4).toString('hex');
    const owner = `sb_test_owner_${suffix}`;
    const roles = [`sb_test_api_${suffix}`, `sb_test_signal_${suffix}`];
    tempRoles.push(owner, ...roles);
    const dir = migrationsCopy();
    const file = join(dir, ROLES_MIGRATION, 'migration.sql');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replaceAll(API_DATABASE_ROLE, roles[0]!)
        .replaceAll(SIGNAL_DATABASE_ROLE, roles[1]!),
    );
    await query(adminUrl, `CREATE ROLE ${escapeIdentifier(owner)} LOGIN NOCREATEROLE`);
    const database = await createScratchDatabase(adminUrl);
    databases.push(database);
    await query(
      adminUrl,
      `ALTER DATABASE ${escapeIdentifier(database.name)} OWNER TO ${escapeIdentifier(owner)}`,
    );
    await query(database.url, `ALTER SCHEMA public OWNER TO ${escapeIdentifier(owner)}`);

    const result = await applyMigrations({
      databaseUrl: withDatabaseUser(database.url, owner),
      migrationsDir: dir,
    });
    expect(result.applied).toContain(ROLES_MIGRATION);
    expect(await query(adminUrl, 'SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [roles])).toEqual(
      [],
    );
  });
});

describe('setRuntimeRolePasswords', () => {
  it('builds the same SCRAM-SHA-256 verifier Postgres builds for the same password and salt', async () => {
    const role = `sb_test_scram_${randomBytes(4).toString('hex')}`;
    tempRoles.push(role);
    const password = 'correct horse battery staple';
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query("SET password_encryption = 'scram-sha-256'");
      await client.query(`CREATE ROLE ${escapeIdentifier(role)} PASSWORD '${password}'`);
      const [row] = (
        await client.query<{ secret: string }>(
          'SELECT rolpassword AS secret FROM pg_authid WHERE rolname = $1',
          [role],
        )
      ).rows;
      const [, iterations = '', salt = ''] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(row!.secret) ?? [];
      expect(scramSha256Verifier(password, Buffer.from(salt, 'base64'), Number(iterations))).toBe(
        row!.secret,
      );
    } finally {
      await client.end();
    }
  });

  it("sets the password a service's URL carries on its runtime role, and leaves other roles alone", async () => {
    const role = `sb_test_runtime_${randomBytes(4).toString('hex')}`;
    tempRoles.push(role);
    await query(adminUrl, `CREATE ROLE ${escapeIdentifier(role)} LOGIN`);
    const secretOf = async () =>
      (await query(adminUrl, 'SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]))[0];

    const serviceUrl = new URL(withDatabaseUser(adminUrl, role));
    serviceUrl.password = 's3cret-pw';
    const outcomes = await setRuntimeRolePasswords(
      adminUrl,
      [serviceUrl.toString(), withDatabaseUser(adminUrl, 'postgres')],
      [role],
    );
    expect([...outcomes]).toEqual([
      [role, 'password-set'],
      ['postgres', 'not-a-runtime-role'],
    ]);
    const secret = (await secretOf()) as { rolpassword: string };
    expect(secret.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(secret.rolpassword).not.toContain('s3cret-pw');

    await expect(
      setRuntimeRolePasswords(adminUrl, [withDatabaseUser(adminUrl, `${role}_missing`)], [`${role}_missing`]),
    ).rejects.toThrow(/does not exist/);
  });
});
