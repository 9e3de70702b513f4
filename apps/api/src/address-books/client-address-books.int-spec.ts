import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { type RawSql, rawSql } from '../../test/raw-sql';
import { signInAs, type SignedInUser, startTestApp } from '../../test/api-test-harness';
import { clientLogin } from '../../test/client-login';

// The client's address-book calls on a real app, database and Redis, shaped as
// flutter/lib/models/ab_model.dart sends them: bearer, `Content-Type: application/json`, and for the
// list calls `Content-Length: 0` with no body (docs/client-api.md §3).
describe('client address books (/api/ab)', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let sql: RawSql;
  let admin: SignedInUser;
  let alice: SignedInUser;
  let bob: SignedInUser;
  const tokens = new Map<SignedInUser, Record<string, string>>();

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url });
    sql = rawSql(database.url);
    admin = await signInAs(app, 'admin');
    alice = await signInAs(app, 'viewer');
    bob = await signInAs(app, 'viewer');
    for (const user of [admin, alice, bob]) tokens.set(user, await clientAuthorization(user));
  });

  afterAll(async () => {
    await sql?.end();
    await app?.close();
    await database?.drop();
  });

  async function clientAuthorization(user: SignedInUser): Promise<Record<string, string>> {
    const token = await clientLogin(app, { username: user.user.username, password: user.password });
    return { authorization: `Bearer ${token}` };
  }

  /** A list call: POST, JSON content type, Content-Length 0, no body. */
  const list = (who: SignedInUser, url: string) =>
    app.inject({
      method: 'POST',
      url,
      headers: { ...tokens.get(who), 'content-type': 'application/json', 'content-length': '0' },
    });

  const write = (who: SignedInUser, method: 'POST' | 'PUT' | 'DELETE', url: string, body: unknown) =>
    app.inject({
      method,
      url,
      headers: { ...tokens.get(who), 'content-type': 'application/json' },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** The client's success test for a write: 200 and an empty body (`_jsonDecodeActionResp`). */
  function expectDone(response: { statusCode: number; body: string }): void {
    expect({ status: response.statusCode, body: response.body }).toEqual({ status: 200, body: '' });
  }

  async function personalGuid(who: SignedInUser): Promise<string> {
    const response = await list(who, '/api/ab/personal');
    expect(response.statusCode).toBe(200);
    return response.json<{ guid: string }>().guid;
  }

  async function sharedBook(name: string): Promise<string> {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/address-books',
      headers: { authorization: admin.authorization },
      payload: { name },
    });
    expect(response.statusCode).toBe(201);
    return response.json<{ id: string }>().id;
  }

  async function setRule(bookId: string, path: string, rule: number): Promise<void> {
    const response = await app.inject({
      method: 'PUT',
      url: `/api/v1/address-books/${bookId}/rules/${path}`,
      headers: { authorization: admin.authorization },
      payload: { rule },
    });
    expect(response.statusCode).toBe(200);
  }

  it('creates the personal book on first use and answers the same guid afterwards', async () => {
    const first = await personalGuid(alice);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(await personalGuid(alice)).toBe(first);
    expect(await personalGuid(bob)).not.toBe(first);
  });

  it('answers settings with max_peer_one_ab 0 (unlimited) unless configured', async () => {
    const response = await list(alice, '/api/ab/settings');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ max_peer_one_ab: 0 });
  });

  it('adds, pages, updates and deletes peers with the client field types, every write an empty 200', async () => {
    const guid = await personalGuid(alice);
    expectDone(await write(alice, 'POST', `/api/ab/tag/add/${guid}`, { name: 'servers', color: 4294967295 }));
    expectDone(
      await write(alice, 'POST', `/api/ab/peer/add/${guid}`, {
        id: '111222333',
        alias: 'db',
        tags: ['servers', 'unknown-tag'],
        hash: 'remembered-hash-secret',
        password: 'ignored in a personal book',
        username: 'root',
        hostname: 'db-1',
        platform: 'Linux',
        forceAlwaysRelay: 'true',
        rdpPort: '3389',
        rdpUsername: 'admin',
        loginName: '',
        device_group_name: '',
        note: 'primary',
        same_server: true,
        aFieldOfANewerClient: { nested: 1 },
      }),
    );

    const page = await list(alice, `/api/ab/peers?current=1&pageSize=100&ab=${guid}`);
    expect(page.statusCode).toBe(200);
    expect(page.json()).toEqual({
      total: 1,
      data: [
        {
          id: '111222333',
          hash: 'remembered-hash-secret',
          password: '',
          username: 'root',
          hostname: 'db-1',
          platform: 'Linux',
          alias: 'db',
          tags: ['servers'],
          note: 'primary',
          forceAlwaysRelay: 'true',
          rdpPort: '3389',
          rdpUsername: 'admin',
          loginName: '',
          device_group_name: '',
          same_server: true,
        },
      ],
    });

    expectDone(
      await write(alice, 'PUT', `/api/ab/peer/update/${guid}`, { id: '111222333', alias: 'database' }),
    );
    expectDone(await write(alice, 'PUT', `/api/ab/peer/update/${guid}`, { id: '111222333', tags: [] }));
    const updated = (await list(alice, `/api/ab/peers?current=1&pageSize=100&ab=${guid}`)).json<{
      data: { alias: string; tags: string[]; note: string }[];
    }>();
    expect(updated.data[0]).toMatchObject({ alias: 'database', tags: [], note: 'primary' });

    const unknown = await write(alice, 'PUT', `/api/ab/peer/update/${guid}`, { id: 'nope', alias: 'x' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: expect.any(String) });

    const duplicate = await write(alice, 'POST', `/api/ab/peer/add/${guid}`, { id: '111222333' });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json()).toEqual({ error: expect.stringContaining('already') });

    expectDone(await write(alice, 'DELETE', `/api/ab/peer/${guid}`, ['111222333', 'never-there']));
    expect((await list(alice, `/api/ab/peers?current=1&pageSize=100&ab=${guid}`)).json()).toEqual({
      total: 0,
      data: [],
    });
  });

  it('keeps the peer hash sealed: a raw SELECT shows no clear text', async () => {
    const guid = await personalGuid(bob);
    expectDone(await write(bob, 'POST', `/api/ab/peer/add/${guid}`, { id: '999', hash: 'bobs-clear-hash' }));
    const { rows } = await sql.query<{ row: string }>(
      'SELECT row_to_json(p)::text AS row FROM address_book_peers p WHERE address_book_id = $1',
      [guid],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.row).not.toContain('bobs-clear-hash');
    const hex = await sql.query<{ hex: string }>(
      "SELECT encode(hash_sealed, 'escape') AS hex FROM address_book_peers WHERE address_book_id = $1",
      [guid],
    );
    expect(hex.rows[0]?.hex).not.toContain('bobs-clear-hash');
  });

  it('pages 250 peers by 100 with total on every page, as the client loops', async () => {
    const guid = await personalGuid(admin);
    await sql.query(
      `INSERT INTO address_book_peers (address_book_id, rustdesk_id, updated_at)
       SELECT $1::uuid, 'p' || lpad(n::text, 4, '0'), now() FROM generate_series(1, 250) AS n`,
      [guid],
    );
    const seen: string[] = [];
    let total = 0;
    let current = 0;
    do {
      current += 1;
      const page = (await list(admin, `/api/ab/peers?current=${current}&pageSize=100&ab=${guid}`)).json<{
        total: number;
        data: { id: string }[];
      }>();
      if (total === 0) total = page.total;
      seen.push(...page.data.map((peer) => peer.id));
    } while (current * 100 < total);
    expect(total).toBe(250);
    expect(current).toBe(3);
    expect(new Set(seen).size).toBe(250);
  });

  it("never shows or writes another user's personal book: the same 404 as an unknown guid", async () => {
    const alicesBook = await personalGuid(alice);
    const read = await list(bob, `/api/ab/peers?current=1&pageSize=100&ab=${alicesBook}`);
    const missing = await list(
      bob,
      '/api/ab/peers?current=1&pageSize=100&ab=00000000-0000-4000-8000-000000000000',
    );
    const garbage = await list(bob, '/api/ab/peers?current=1&pageSize=100&ab=not-a-guid');
    for (const response of [read, missing, garbage]) {
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ error: 'Address book not found' });
    }
    const tags = await list(bob, `/api/ab/tags/${alicesBook}`);
    expect(tags.statusCode).toBe(404);
    const writeAttempt = await write(bob, 'POST', `/api/ab/peer/add/${alicesBook}`, { id: '424242' });
    expect(writeAttempt.statusCode).toBe(404);
    // Even an admin's client sees only its own personal book.
    expect((await list(admin, `/api/ab/tags/${alicesBook}`)).statusCode).toBe(404);
  });

  it('applies shared rules: read refuses writes with 403, a group rule grants, the best rule wins', async () => {
    const bookId = await sharedBook('Ops');
    const groups = await sql.query<{ id: string }>(
      "INSERT INTO user_groups (name) VALUES ('ops') RETURNING id",
    );
    await sql.query('INSERT INTO user_group_members (user_group_id, user_id) VALUES ($1, $2)', [
      groups.rows[0]?.id,
      bob.user.id,
    ]);
    await setRule(bookId, `users/${alice.user.username}`, 1);
    await setRule(bookId, 'groups/ops', 2);
    await setRule(bookId, `users/${bob.user.username}`, 1);

    const alicesProfiles = (await list(alice, '/api/ab/shared/profiles?current=1&pageSize=100')).json<{
      total: number;
      data: { guid: string; name: string; owner: string; rule: number; info: object }[];
    }>();
    expect(alicesProfiles).toEqual({
      total: 1,
      data: [{ guid: bookId, name: 'Ops', owner: admin.user.username, note: '', rule: 1, info: {} }],
    });
    const refused = await write(alice, 'POST', `/api/ab/peer/add/${bookId}`, { id: '700' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({ error: expect.stringContaining('read-only') });
    const refusedTag = await write(alice, 'POST', `/api/ab/tag/add/${bookId}`, { name: 't', color: 1 });
    expect(refusedTag.statusCode).toBe(403);

    // Bob's own rule is read, his group's read/write: the best applies.
    const bobsProfiles = (await list(bob, '/api/ab/shared/profiles?current=1&pageSize=100')).json<{
      data: { rule: number }[];
    }>();
    expect(bobsProfiles.data.map((profile) => profile.rule)).toEqual([2]);
    expectDone(
      await write(bob, 'POST', `/api/ab/peer/add/${bookId}`, { id: '700', password: 'shared-clear-pw' }),
    );
    const peers = (await list(alice, `/api/ab/peers?current=1&pageSize=100&ab=${bookId}`)).json<{
      data: { id: string; password: string; hash: string }[];
    }>();
    expect(peers.data).toEqual([
      expect.objectContaining({ id: '700', password: 'shared-clear-pw', hash: '' }),
    ]);
    const raw = await sql.query<{ row: string }>(
      'SELECT row_to_json(p)::text AS row FROM address_book_peers p WHERE address_book_id = $1',
      [bookId],
    );
    expect(raw.rows[0]?.row).not.toContain('shared-clear-pw');

    // The book password reaches readers as info.password.
    await app.inject({
      method: 'PUT',
      url: `/api/v1/address-books/${bookId}/password`,
      headers: { authorization: admin.authorization },
      payload: { password: 'book-default' },
    });
    const withPassword = (await list(alice, '/api/ab/shared/profiles?current=1&pageSize=100')).json<{
      data: { info: object }[];
    }>();
    expect(withPassword.data[0]?.info).toEqual({ password: 'book-default' });
  });

  it('renames and deletes tags in every peer too; colours are uint32 up to 0xFFFFFFFF', async () => {
    const guid = await personalGuid(alice);
    expectDone(await write(alice, 'POST', `/api/ab/tag/add/${guid}`, { name: 'a', color: 4288585374 }));
    expectDone(await write(alice, 'POST', `/api/ab/tag/add/${guid}`, { name: 'b', color: 0 }));
    expectDone(await write(alice, 'POST', `/api/ab/peer/add/${guid}`, { id: 'tagged1', tags: ['a', 'b'] }));
    expectDone(await write(alice, 'POST', `/api/ab/peer/add/${guid}`, { id: 'tagged2', tags: ['a'] }));

    expectDone(await write(alice, 'PUT', `/api/ab/tag/rename/${guid}`, { old: 'a', new: 'alpha' }));
    expectDone(await write(alice, 'PUT', `/api/ab/tag/update/${guid}`, { name: 'b', color: 4294967295 }));
    const tags = await list(alice, `/api/ab/tags/${guid}`);
    expect(tags.json()).toEqual(
      expect.arrayContaining([
        { name: 'alpha', color: 4288585374 },
        { name: 'b', color: 4294967295 },
        { name: 'servers', color: 4294967295 },
      ]),
    );
    const tagsOf = async () =>
      Object.fromEntries(
        (await list(alice, `/api/ab/peers?current=1&pageSize=100&ab=${guid}`))
          .json<{ data: { id: string; tags: string[] }[] }>()
          .data.map((peer) => [peer.id, peer.tags]),
      );
    expect(await tagsOf()).toMatchObject({ tagged1: ['alpha', 'b'], tagged2: ['alpha'] });

    expectDone(await write(alice, 'DELETE', `/api/ab/tag/${guid}`, ['alpha']));
    expect(await tagsOf()).toMatchObject({ tagged1: ['b'], tagged2: [] });

    const clash = await write(alice, 'PUT', `/api/ab/tag/rename/${guid}`, { old: 'b', new: 'servers' });
    expect(clash.statusCode).toBe(409);
    const tooBig = await write(alice, 'POST', `/api/ab/tag/add/${guid}`, { name: 'c', color: 4294967296 });
    expect(tooBig.statusCode).toBe(400);
    expect(tooBig.json()).toEqual({ error: expect.stringContaining('color') });
  });

  it('refuses bad input with {error}: malformed JSON, wrong types, oversize bodies', async () => {
    const guid = await personalGuid(alice);
    const malformed = await write(alice, 'POST', `/api/ab/peer/add/${guid}`, '{"id": ');
    expect(malformed.statusCode).toBe(400);
    expect(Object.keys(malformed.json())).toEqual(['error']);

    const wrongType = await write(alice, 'POST', `/api/ab/peer/add/${guid}`, { id: 5, tags: 'x' });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json()).toEqual({ error: expect.stringContaining('id') });

    const notAnArray = await write(alice, 'DELETE', `/api/ab/peer/${guid}`, { id: 'x' });
    expect(notAnArray.statusCode).toBe(400);

    const oversize = await write(alice, 'POST', `/api/ab/peer/add/${guid}`, {
      id: 'big',
      note: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(oversize.statusCode).toBe(413);
    expect(Object.keys(oversize.json())).toEqual(['error']);
  });

  describe('legacy blob', () => {
    it('answers literal null for an empty book, then mirrors the v2 view', async () => {
      const carol = await signInAs(app, 'viewer');
      tokens.set(carol, await clientAuthorization(carol));
      const empty = await app.inject({ method: 'GET', url: '/api/ab', headers: tokens.get(carol) });
      expect(empty.statusCode).toBe(200);
      expect(empty.body).toBe('null');

      const blob = {
        tags: ['home'],
        peers: [
          {
            id: '31337',
            hash: 'legacy-hash',
            username: 'u',
            hostname: 'h',
            platform: 'Linux',
            alias: 'a',
            tags: ['home'],
          },
        ],
        tag_colors: JSON.stringify({ home: 4294967295 }),
      };
      const push = await write(carol, 'POST', '/api/ab', { data: JSON.stringify(blob) });
      expect(push.statusCode).toBe(200);
      expect(push.body).toBe('');

      const pulled = await app.inject({ method: 'GET', url: '/api/ab', headers: tokens.get(carol) });
      expect(JSON.parse(pulled.json<{ data: string }>().data)).toEqual(blob);

      const guid = await personalGuid(carol);
      const v2 = (await list(carol, `/api/ab/peers?current=1&pageSize=100&ab=${guid}`)).json<{
        data: { id: string; hash: string; tags: string[] }[];
      }>();
      expect(v2.data).toEqual([
        expect.objectContaining({ id: '31337', hash: 'legacy-hash', tags: ['home'] }),
      ]);
      expect((await list(carol, `/api/ab/tags/${guid}`)).json()).toEqual([
        { name: 'home', color: 4294967295 },
      ]);

      const sciter = await write(carol, 'POST', '/api/ab/get', {});
      expect(sciter.statusCode).toBe(200);
      const sciterBody = sciter.json<{ data: string; updated_at: string }>();
      expect(JSON.parse(sciterBody.data)).toEqual(blob);
      expect(Date.parse(sciterBody.updated_at)).not.toBeNaN();
    });

    it('refuses a malformed inner JSON string with 400 and writes nothing', async () => {
      const guid = await personalGuid(alice);
      const before = (await list(alice, `/api/ab/peers?current=1&pageSize=100&ab=${guid}`)).json<{
        total: number;
      }>();
      const bad = await write(alice, 'POST', '/api/ab', { data: '{"peers": [' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toEqual({ error: expect.any(String) });
      const wrongShape = await write(alice, 'POST', '/api/ab', {
        data: JSON.stringify({ peers: [{ id: 7 }] }),
      });
      expect(wrongShape.statusCode).toBe(400);
      const after = (await list(alice, `/api/ab/peers?current=1&pageSize=100&ab=${guid}`)).json<{
        total: number;
      }>();
      expect(after.total).toBe(before.total);
    });
  });
});
