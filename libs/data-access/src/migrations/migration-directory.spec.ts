import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { migrationChecksum, readMigrationDirectory, scriptMatchesChecksum } from './migration-directory';
import { MigrationError } from './migration-error';

describe('migration checksums (Prisma schema-engine checksum.rs)', () => {
  it('is the zero-padded lowercase hex SHA-256 of the script', () => {
    // The vector from Prisma's own test `format_checksum_does_not_strip_zeros`.
    expect(migrationChecksum('hello')).toBe(
      '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    );
    expect(migrationChecksum(Buffer.from('hello'))).toBe(migrationChecksum('hello'));
  });

  it('matches across LF/CRLF conversions and the old unpadded format, and nothing else', () => {
    const lf = 'ab\ncd\n';
    const crlf = 'ab\r\ncd\r\n';
    expect(scriptMatchesChecksum(lf, migrationChecksum(crlf))).toBe(true);
    expect(scriptMatchesChecksum(crlf, migrationChecksum(lf))).toBe(true);
    // Its digest has bytes below 0x10, which the old format wrote as one hex digit.
    const old = 'SELECT 0;\n';
    const unpadded = Array.from(Buffer.from(migrationChecksum(old), 'hex'), (byte) => byte.toString(16)).join(
      '',
    );
    expect(unpadded.length).toBeLessThan(64);
    expect(scriptMatchesChecksum(old, unpadded)).toBe(true);
    expect(scriptMatchesChecksum('abc\n', migrationChecksum('abc'))).toBe(false);
    expect(scriptMatchesChecksum('abc', migrationChecksum('abcd'))).toBe(false);
  });
});

describe('readMigrationDirectory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-migration-dir-'));
    writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function add(name: string, sql?: string) {
    mkdirSync(join(dir, name));
    if (sql !== undefined) writeFileSync(join(dir, name, 'migration.sql'), sql);
  }

  it('returns folders in name order with their scripts and checksums, ignoring loose files', () => {
    add('20260102000000_second', 'B');
    add('20260101000000_first', 'A');
    writeFileSync(join(dir, 'README.md'), 'not a migration');

    expect(readMigrationDirectory(dir)).toEqual([
      { name: '20260101000000_first', script: 'A', checksum: migrationChecksum('A') },
      { name: '20260102000000_second', script: 'B', checksum: migrationChecksum('B') },
    ]);
  });

  it('refuses a folder without migration.sql', () => {
    add('20260101000000_empty');
    expect(() => readMigrationDirectory(dir)).toThrow(/20260101000000_empty has no migration.sql/);
  });

  it('refuses migrations locked to another provider', () => {
    writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "mysql"\n');
    expect(() => readMigrationDirectory(dir)).toThrow(MigrationError);
    expect(() => readMigrationDirectory(dir)).toThrow(/provider mysql/);
  });

  it('reports a directory it cannot read', () => {
    expect(() => readMigrationDirectory(join(dir, 'nope'))).toThrow(/Cannot read the migrations directory/);
  });
});
