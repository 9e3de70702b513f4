import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { type RawSql, rawSql } from '../../test/raw-sql';
import { signInAs, type SignedInUser, startTestApp } from '../../test/api-test-harness';
import { AddressBookPresetsService } from './address-book-presets.service';

// Shared address-book administration on the operator API and the device-preset seam, on a real app
// and database: audited changes, unique names, rules, the sealed book password.
describe('shared address books (operator API) and device presets', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let sql: RawSql;
  let admin: SignedInUser;
  let operator: SignedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url });
    sql = rawSql(database.url);
    admin = await signInAs(app, 'admin');
    operator = await signInAs(app, 'operator');
  });

  afterAll(async () => {
    await sql?.end();
    await app?.close();
    await database?.drop();
  });

  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    url: string,
    payload?: object,
    who = admin,
  ) =>
    app.inject({
      method,
      url,
      headers: { authorization: who.authorization },
      ...(payload ? { payload } : {}),
    });

  async function auditActions(bookId: string): Promise<string[]> {
    const { rows } = await sql.query<{ action: string }>(
      'SELECT action FROM audit_entries WHERE target_id = $1 ORDER BY seq',
      [bookId],
    );
    return rows.map((row) => row.action);
  }

  it('creates, renames and deletes a shared book, each change in the audit chain', async () => {
    const created = await call('POST', '/api/v1/address-books', { name: 'Support', note: 'front line' });
    expect(created.statusCode).toBe(201);
    const book = created.json<{ id: string; name: string; owner: string; rules: unknown[] }>();
    expect(book).toMatchObject({ name: 'Support', owner: admin.user.username, rules: [] });

    const renamed = await call('PATCH', `/api/v1/address-books/${book.id}`, { name: 'Support desk' });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toMatchObject({ name: 'Support desk' });

    const listed = await call('GET', '/api/v1/address-books');
    expect(listed.json<{ items: { name: string }[] }>().items.map((b) => b.name)).toContain('Support desk');

    expect((await call('DELETE', `/api/v1/address-books/${book.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/api/v1/address-books/${book.id}`)).statusCode).toBe(404);
    expect(await auditActions(book.id)).toEqual([
      'address_book.create',
      'address_book.update',
      'address_book.delete',
    ]);
  });

  it('refuses a second shared book of one name, and the name the client gives the personal book', async () => {
    expect((await call('POST', '/api/v1/address-books', { name: 'Twins' })).statusCode).toBe(201);
    expect((await call('POST', '/api/v1/address-books', { name: 'Twins' })).statusCode).toBe(409);
    expect((await call('POST', '/api/v1/address-books', { name: 'My address book' })).statusCode).toBe(400);
  });

  it('is for admins only', async () => {
    expect((await call('GET', '/api/v1/address-books', undefined, operator)).statusCode).toBe(403);
    expect((await call('POST', '/api/v1/address-books', { name: 'Nope' }, operator)).statusCode).toBe(403);
  });

  it('sets and removes rules for users and user groups', async () => {
    const book = (await call('POST', '/api/v1/address-books', { name: 'Ruled' })).json<{ id: string }>();
    const { rows } = await sql.query<{ id: string }>(
      "INSERT INTO user_groups (name) VALUES ('helpdesk') RETURNING id",
    );
    expect(rows).toHaveLength(1);

    const userRule = await call(
      'PUT',
      `/api/v1/address-books/${book.id}/rules/users/${operator.user.username}`,
      {
        rule: 2,
      },
    );
    expect(userRule.statusCode).toBe(200);
    const groupRule = await call('PUT', `/api/v1/address-books/${book.id}/rules/groups/helpdesk`, {
      rule: 1,
    });
    expect(groupRule.json<{ rules: unknown[] }>().rules).toEqual(
      expect.arrayContaining([
        { subject: 'user', subjectId: operator.user.id, subjectName: operator.user.username, rule: 2 },
        { subject: 'group', subjectId: rows[0]?.id, subjectName: 'helpdesk', rule: 1 },
      ]),
    );
    expect(
      (await call('PUT', `/api/v1/address-books/${book.id}/rules/groups/helpdesk`, { rule: 4 })).statusCode,
    ).toBe(400);
    expect(
      (await call('PUT', `/api/v1/address-books/${book.id}/rules/users/nobody`, { rule: 1 })).statusCode,
    ).toBe(404);

    expect(
      (await call('DELETE', `/api/v1/address-books/${book.id}/rules/users/${operator.user.username}`))
        .statusCode,
    ).toBe(204);
    expect((await call('DELETE', `/api/v1/address-books/${book.id}/rules/groups/helpdesk`)).statusCode).toBe(
      204,
    );
    expect(
      (await call('GET', `/api/v1/address-books/${book.id}`)).json<{ rules: unknown[] }>().rules,
    ).toEqual([]);
    expect(await auditActions(book.id)).toEqual([
      'address_book.create',
      'address_book.rule_set',
      'address_book.group_rule_set',
      'address_book.rule_remove',
      'address_book.group_rule_remove',
    ]);
  });

  it('seals the book password: the database never holds it in clear, nor does the audit entry', async () => {
    const book = (await call('POST', '/api/v1/address-books', { name: 'Sealed' })).json<{ id: string }>();
    const set = await call('PUT', `/api/v1/address-books/${book.id}/password`, {
      password: 'clear-book-secret',
    });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ hasPassword: true });

    const { rows } = await sql.query<{ sealed: Buffer }>(
      'SELECT password_sealed AS sealed FROM address_books WHERE id = $1',
      [book.id],
    );
    expect(rows[0]?.sealed.length).toBeGreaterThan(16);
    expect(rows[0]?.sealed.toString('latin1')).not.toContain('clear-book-secret');
    const audit = await sql.query('SELECT details::text AS details FROM audit_entries WHERE target_id = $1', [
      book.id,
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain('clear-book-secret');

    const cleared = await call('PUT', `/api/v1/address-books/${book.id}/password`, { password: null });
    expect(cleared.json()).toMatchObject({ hasPassword: false });
  });

  describe('device presets (the seam for sysinfo and --assign)', () => {
    const device = { actorType: 'device', actorId: '123456789', ip: null };

    it('adds a device to a named shared book with tag, alias, password and note; again, it only fills gaps', async () => {
      const book = (await call('POST', '/api/v1/address-books', { name: 'Fleet' })).json<{ id: string }>();
      const presets = app.get(AddressBookPresetsService);

      const first = await presets.applyDevicePreset(
        {
          rustdeskId: '123456789',
          hostname: 'kiosk-1',
          platform: 'Windows',
          bookName: 'Fleet',
          tag: 'kiosk',
          alias: 'Front kiosk',
          password: 'preset-secret',
          note: 'lobby',
        },
        device,
      );
      expect(first).toBe('added');

      // The same upload at the next service start, with a new hostname and another alias.
      const again = await presets.applyDevicePreset(
        { rustdeskId: '123456789', hostname: 'kiosk-1b', bookName: 'Fleet', tag: 'kiosk', alias: 'Other' },
        device,
      );
      expect(again).toBe('updated');

      const { rows } = await sql.query<{
        hostname: string;
        alias: string;
        tags: string[];
        note: string;
        sealed: Buffer;
      }>(
        `SELECT hostname, alias, tags, note, password_sealed AS sealed FROM address_book_peers
          WHERE address_book_id = $1`,
        [book.id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        hostname: 'kiosk-1b',
        alias: 'Front kiosk',
        tags: ['kiosk'],
        note: 'lobby',
      });
      expect(rows[0]?.sealed.toString('latin1')).not.toContain('preset-secret');
      const tags = await sql.query<{ name: string; color: string }>(
        'SELECT name, color FROM address_book_tags WHERE address_book_id = $1',
        [book.id],
      );
      expect(tags.rows.map((tag) => tag.name)).toEqual(['kiosk']);
      expect(await auditActions(book.id)).toEqual([
        'address_book.create',
        'address_book.device_preset',
        'address_book.device_preset',
      ]);
    });

    it('answers book_not_found for a name no shared book has, writing nothing', async () => {
      const presets = app.get(AddressBookPresetsService);
      expect(await presets.applyDevicePreset({ rustdeskId: '55', bookName: 'Nowhere' }, device)).toBe(
        'book_not_found',
      );
      const { rows } = await sql.query("SELECT 1 FROM address_book_peers WHERE rustdesk_id = '55'");
      expect(rows).toHaveLength(0);
    });
  });
});
