import {
  InvalidMigrationNameError,
  migrationFolderName,
  migrationTimestamp,
  validateMigrationName,
} from './migration-author';

describe('validateMigrationName', () => {
  it.each(['init', 'add_device_notes', 'v2', 'drop_table_3'])('accepts %s', (name) => {
    expect(() => validateMigrationName(name)).not.toThrow();
  });

  it.each([
    '',
    'Add',
    'add-notes',
    '_add',
    'add_',
    'add__notes',
    '2fa',
    'add notes',
    '../evil',
    'a'.repeat(101),
  ])('refuses %j', (name) => {
    expect(() => validateMigrationName(name)).toThrow(InvalidMigrationNameError);
  });
});

describe('migration folder names', () => {
  it('stamps Prisma-style UTC yyyymmddHHMMSS', () => {
    expect(migrationTimestamp(new Date('2026-03-04T05:06:07.890Z'))).toBe('20260304050607');
  });

  it('uses the current time when it sorts after every existing migration', () => {
    const now = new Date('2026-11-23T10:00:00Z');
    expect(migrationFolderName('add_x', now, ['20261122000000_init', 'notes'])).toBe('20261123100000_add_x');
  });

  it('goes one second past the newest migration when the clock is behind it, across day boundaries', () => {
    const now = new Date('2026-11-20T10:00:00Z');
    expect(migrationFolderName('add_x', now, ['20261122000000_init', '20261231235959_later'])).toBe(
      '20270101000000_add_x',
    );
    expect(migrationFolderName('add_x', new Date('2026-11-22T00:00:00Z'), ['20261122000000_init'])).toBe(
      '20261122000001_add_x',
    );
  });
});
