import { createHash } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { type InjectOptions } from 'fastify';

import { signInAs, type SignedInUser, startTestApp } from '../../test/api-test-harness';
import { DatabaseConnection } from '../database/database.connection';
import { issueApiKey } from './api-key-secret';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

describe('API keys', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let admin: SignedInUser;
  let operator: SignedInUser;
  let viewer: SignedInUser;
  let pro: SignedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: `test-api-keys-${process.pid}`,
    });
    admin = await signInAs(app, 'admin');
    operator = await signInAs(app, 'operator');
    viewer = await signInAs(app, 'viewer');
    pro = await signInAs(app, 'pro');
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const db = () => app.get(DatabaseConnection).client;

  function call(method: Method, url: string, headers: Record<string, string>, payload?: unknown) {
    const options: InjectOptions = { method, url, headers: { ...headers } };
    if (payload !== undefined) {
      options.payload = typeof payload === 'string' ? payload : JSON.stringify(payload);
      options.headers = { ...options.headers, 'content-type': 'application/json' };
    }
    return app.inject(options);
  }

  const asUser = (user: SignedInUser) => ({ authorization: user.authorization });
  const withKey = (key: string) => ({ 'x-api-key': key });

  async function createKey(user: SignedInUser, body: Record<string, unknown> = {}) {
    const response = await call('POST', '/api/v1/api-keys', asUser(user), { name: 'automation', ...body });
    expect(response.statusCode).toBe(201);
    return response.json<{
      key: string;
      apiKey: { id: string; prefix: string; role: string; expiresAt: string | null };
    }>();
  }

  const auditCount = (action: string, targetId: string) =>
    db().auditEntry.count({ where: { action, targetId } });

  describe('POST /api/v1/api-keys', () => {
    it('answers the key once, stores only its prefix and SHA-256, and audits the creation', async () => {
      const response = await call('POST', '/api/v1/api-keys', asUser(admin), {
        name: 'ci deploy',
        expiresAt: '2099-01-01T00:00:00Z',
      });
      expect(response.statusCode).toBe(201);
      expect(response.headers['cache-control']).toBe('no-store');
      const body = response.json<{ key: string; apiKey: { id: string; prefix: string } }>();
      expect(body.key).toMatch(/^sbk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
      expect(body.apiKey).toEqual({
        id: expect.any(String),
        name: 'ci deploy',
        prefix: body.key.slice(4, 16),
        role: 'admin',
        status: 'active',
        ownerId: admin.user.id,
        ownerUsername: admin.user.username,
        createdAt: expect.any(String),
        expiresAt: '2099-01-01T00:00:00.000Z',
        lastUsedAt: null,
        lastUsedIp: null,
        revokedAt: null,
      });

      const row = await db().apiKey.findUniqueOrThrow({ where: { id: body.apiKey.id } });
      expect(Buffer.from(row.keyHash)).toEqual(createHash('sha256').update(body.key).digest());
      expect(row.prefix).toBe(body.apiKey.prefix);
      expect(JSON.stringify(row)).not.toContain(body.key.slice(17));

      const entry = await db().auditEntry.findFirstOrThrow({
        where: { action: 'api_key.created', targetId: body.apiKey.id },
      });
      expect(entry).toMatchObject({ actorType: 'user', actorId: admin.user.id, targetType: 'api_key' });
      expect(JSON.stringify(entry.details)).not.toContain(body.key.slice(17));

      // Never again: the list shows the key's metadata only.
      const list = await call('GET', '/api/v1/api-keys', asUser(admin));
      expect(list.statusCode).toBe(200);
      expect(list.body).not.toContain(body.key.slice(17));
      expect(list.body).not.toMatch(/hash/i);
      expect(list.json().items).toContainEqual(expect.objectContaining({ id: body.apiKey.id }));
    });

    it('defaults the role to the creator’s and lets a key act for its creator', async () => {
      const { key, apiKey } = await createKey(operator);
      expect(apiKey.role).toBe('operator');
      const list = await call('GET', '/api/v1/api-keys', withKey(key));
      expect(list.statusCode).toBe(200);
      const items = list.json<{ items: { ownerId: string }[] }>().items;
      expect(items.length).toBeGreaterThan(0);
      expect(items.every((item) => item.ownerId === operator.user.id)).toBe(true);
    });

    it.each([
      ['admin', 'admin', 201],
      ['admin', 'operator', 201],
      ['admin', 'viewer', 201],
      ['admin', 'pro', 201],
      ['operator', 'admin', 403],
      ['operator', 'operator', 201],
      ['operator', 'viewer', 201],
      ['operator', 'pro', 403],
      ['viewer', 'operator', 403],
      ['viewer', 'viewer', 201],
      ['viewer', 'pro', 403],
      ['pro', 'pro', 201],
      ['pro', 'viewer', 403],
      ['pro', 'operator', 403],
      ['pro', 'admin', 403],
    ] as const)('a %s asking for a %s key gets %i', async (creator, role, status) => {
      const user = { admin, operator, viewer, pro }[creator];
      const response = await call('POST', '/api/v1/api-keys', asUser(user), { name: 'k', role });
      expect(response.statusCode).toBe(status);
      if (status === 201) expect(response.json().apiKey.role).toBe(role);
    });

    it('refuses to create a key with a key (403): a leaked key cannot mint keys that outlive it', async () => {
      const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
      const { key, apiKey } = await createKey(admin, { expiresAt: inAnHour });
      for (const body of [{ name: 'child' }, { name: 'child', expiresAt: '2099-01-01T00:00:00Z' }]) {
        const response = await call('POST', '/api/v1/api-keys', withKey(key), body);
        expect(response.statusCode).toBe(403);
      }
      expect(
        await db().auditEntry.count({ where: { action: 'api_key.created', actorId: apiKey.prefix } }),
      ).toBe(0);
      expect(await db().apiKey.count({ where: { createdById: admin.user.id, name: 'child' } })).toBe(0);
    });

    it('gives a key without expiresAt the default expiry (90 days), never none', async () => {
      const before = Date.now();
      const { apiKey } = await createKey(viewer);
      const expiresAt = Date.parse(apiKey.expiresAt ?? '');
      expect(expiresAt).toBeGreaterThanOrEqual(before + 90 * 86_400_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 90 * 86_400_000);
    });

    it('caps live keys at 50 per user (409); revoked and expired keys do not count', async () => {
      const owner = await signInAs(app, 'operator');
      const seed = (count: number, extra: { expiresAt?: Date; revokedAt?: Date } = {}) =>
        db().apiKey.createMany({
          data: Array.from({ length: count }, () => {
            const issued = issueApiKey();
            return {
              name: 'seeded',
              prefix: issued.prefix,
              keyHash: new Uint8Array(issued.hash),
              role: 'operator' as const,
              createdById: owner.user.id,
              ...extra,
            };
          }),
        });
      await seed(48);
      await seed(3, { expiresAt: new Date(Date.now() - 1_000) });
      await seed(3, { revokedAt: new Date() });
      // Four at once with room for two: the owner's lock lets exactly two through.
      const burst = await Promise.all(
        [1, 2, 3, 4].map((index) =>
          call('POST', '/api/v1/api-keys', asUser(owner), { name: `burst ${index}` }),
        ),
      );
      expect(burst.map((response) => response.statusCode).sort()).toEqual([201, 201, 409, 409]);
      const refused = await call('POST', '/api/v1/api-keys', asUser(owner), { name: 'one more' });
      expect(refused.statusCode).toBe(409);
      expect(refused.json().message).toMatch(/50/);

      const made = burst.find((response) => response.statusCode === 201)!.json<{ apiKey: { id: string } }>();
      expect((await call('DELETE', `/api/v1/api-keys/${made.apiKey.id}`, asUser(owner))).statusCode).toBe(
        204,
      );
      expect(
        (await call('POST', '/api/v1/api-keys', asUser(owner), { name: 'after revoke' })).statusCode,
      ).toBe(201);
    });

    it.each([
      ['malformed JSON', '{"name": "x",'],
      ['a missing name', {}],
      ['a name of the wrong type', { name: 42 }],
      ['an empty name', { name: '   ' }],
      ['an oversized name', { name: 'n'.repeat(129) }],
      ['an unknown role', { name: 'k', role: 'root' }],
      ['a non-ISO expiry', { name: 'k', expiresAt: 'tomorrow' }],
      ['an expiry in the past', { name: 'k', expiresAt: '2001-01-01T00:00:00Z' }],
      ['an unknown field', { name: 'k', keyHash: 'x' }],
    ])('refuses %s with 400', async (_case, payload) => {
      const response = await call('POST', '/api/v1/api-keys', asUser(admin), payload);
      expect(response.statusCode).toBe(400);
    });

    it('lists each bad field in the 400', async () => {
      const response = await call('POST', '/api/v1/api-keys', asUser(admin), { name: 1, role: 'root' });
      expect(response.statusCode).toBe(400);
      const message = response.json<{ message: string[] }>().message;
      expect(message).toEqual(
        expect.arrayContaining([expect.stringMatching(/^name: /), expect.stringMatching(/^role: /)]),
      );
    });

    it('requires a credential (401)', async () => {
      const response = await call('POST', '/api/v1/api-keys', {}, { name: 'k' });
      expect(response.statusCode).toBe(401);
    });
  });

  describe('X-API-Key authentication', () => {
    it('refuses unknown, malformed and forged keys with 401', async () => {
      const { key } = await createKey(admin);
      const forged = `${key.slice(0, 17)}${'A'.repeat(43)}`;
      const unknownPrefix = `sbk_zzzzzzzzzzzz_${key.slice(17)}`;
      for (const bad of [forged, unknownPrefix, 'sbk_short', 'not-a-key', '']) {
        const response = await call('GET', '/api/v1/api-keys', withKey(bad));
        expect(response.statusCode).toBe(401);
      }
    });

    it('is tried first: a bad key is not rescued by a good bearer token', async () => {
      const response = await call('GET', '/api/v1/api-keys', { ...withKey('sbk_nope'), ...asUser(admin) });
      expect(response.statusCode).toBe(401);
    });

    it('refuses an expired key with 401', async () => {
      const { key, apiKey } = await createKey(admin, {
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      });
      expect((await call('GET', '/api/v1/api-keys', withKey(key))).statusCode).toBe(200);
      await db().apiKey.update({
        where: { id: apiKey.id },
        data: { expiresAt: new Date(Date.now() - 1000) },
      });
      const response = await call('GET', '/api/v1/api-keys', withKey(key));
      expect(response.statusCode).toBe(401);
      expect(response.json().message).toBe('API key expired');
      const list = await call('GET', '/api/v1/api-keys', asUser(admin));
      const listed = list
        .json<{ items: { id: string; status: string }[] }>()
        .items.find((i) => i.id === apiKey.id);
      expect(listed?.status).toBe('expired');
    });

    it('acts with the key’s role on the api channel: a viewer key of an admin cannot read users', async () => {
      const { key: adminKey } = await createKey(admin);
      const { key: viewerKey } = await createKey(admin, { role: 'viewer' });
      expect((await call('GET', '/api/v1/users', withKey(adminKey))).statusCode).toBe(200);
      expect((await call('GET', '/api/v1/users', withKey(viewerKey))).statusCode).toBe(403);
    });

    it('caps the role by the owner’s current role, and refuses a key whose role no longer fits', async () => {
      const owner = await signInAs(app, 'admin');
      const { key: adminKey } = await createKey(owner);
      const { key: proKey } = await createKey(owner, { role: 'pro' });
      const { key: viewerKey } = await createKey(owner, { role: 'viewer' });
      expect((await call('GET', '/api/v1/users', withKey(adminKey))).statusCode).toBe(200);

      await db().user.update({ where: { id: owner.user.id }, data: { role: 'operator' } });
      // The admin key now acts as an operator: authenticated, but without user.view.
      expect((await call('GET', '/api/v1/users', withKey(adminKey))).statusCode).toBe(403);
      expect((await call('GET', '/api/v1/api-keys', withKey(adminKey))).statusCode).toBe(200);
      const made = await call('POST', '/api/v1/api-keys', withKey(adminKey), { name: 'x', role: 'admin' });
      expect(made.statusCode).toBe(403);
      // pro and operator are incomparable: nothing is below both.
      expect((await call('GET', '/api/v1/api-keys', withKey(proKey))).statusCode).toBe(401);
      expect((await call('GET', '/api/v1/api-keys', withKey(viewerKey))).statusCode).toBe(200);
    });

    it('refuses the key of a disabled or deleted owner with 401', async () => {
      const owner = await signInAs(app, 'operator');
      const { key } = await createKey(owner);
      expect((await call('GET', '/api/v1/api-keys', withKey(key))).statusCode).toBe(200);

      expect(
        (await call('POST', `/api/v1/users/${owner.user.id}/disable`, asUser(admin), {})).statusCode,
      ).toBe(200);
      expect((await call('GET', '/api/v1/api-keys', withKey(key))).statusCode).toBe(401);
      expect(
        (await call('POST', `/api/v1/users/${owner.user.id}/enable`, asUser(admin), {})).statusCode,
      ).toBe(200);
      expect((await call('GET', '/api/v1/api-keys', withKey(key))).statusCode).toBe(200);

      expect((await call('DELETE', `/api/v1/users/${owner.user.id}`, asUser(admin))).statusCode).toBe(204);
      expect((await call('GET', '/api/v1/api-keys', withKey(key))).statusCode).toBe(401);
    });

    it('records last use at most once per interval, with one api_key.used entry each time', async () => {
      const { key, apiKey } = await createKey(viewer);
      expect(await auditCount('api_key.used', apiKey.id)).toBe(0);

      for (let index = 0; index < 3; index++) {
        expect((await call('GET', '/api/v1/api-keys', withKey(key))).statusCode).toBe(200);
      }
      const first = await db().apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
      expect(first.lastUsedAt).not.toBeNull();
      expect(first.lastUsedIp).toBe('127.0.0.1');
      expect(await auditCount('api_key.used', apiKey.id)).toBe(1);
      const entry = await db().auditEntry.findFirstOrThrow({
        where: { action: 'api_key.used', targetId: apiKey.id },
      });
      expect(entry).toMatchObject({ actorType: 'api_key', actorId: apiKey.prefix, ip: '127.0.0.1' });

      // Concurrent requests within the interval write nothing either.
      const burst = await Promise.all([1, 2, 3, 4].map(() => call('GET', '/api/v1/api-keys', withKey(key))));
      expect(burst.map((response) => response.statusCode)).toEqual([200, 200, 200, 200]);
      const unchanged = await db().apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
      expect(unchanged.lastUsedAt).toEqual(first.lastUsedAt);
      expect(await auditCount('api_key.used', apiKey.id)).toBe(1);

      // Once the interval (60 s by default) has passed, the next use is recorded again, once.
      const longAgo = new Date(Date.now() - 61_000);
      await db().apiKey.update({ where: { id: apiKey.id }, data: { lastUsedAt: longAgo } });
      const again = await Promise.all([1, 2, 3].map(() => call('GET', '/api/v1/api-keys', withKey(key))));
      expect(again.map((response) => response.statusCode)).toEqual([200, 200, 200]);
      const later = await db().apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
      expect(later.lastUsedAt!.getTime()).toBeGreaterThan(longAgo.getTime() + 30_000);
      expect(await auditCount('api_key.used', apiKey.id)).toBe(2);
    });

    it('names the key as the actor of what it changes', async () => {
      const { key, apiKey } = await createKey(admin);
      const { apiKey: other } = await createKey(admin);
      expect((await call('DELETE', `/api/v1/api-keys/${other.id}`, withKey(key))).statusCode).toBe(204);
      const entry = await db().auditEntry.findFirstOrThrow({
        where: { action: 'api_key.revoked', targetId: other.id },
      });
      expect(entry).toMatchObject({ actorType: 'api_key', actorId: apiKey.prefix });
    });
  });

  describe('GET /api/v1/api-keys', () => {
    it('lists only one’s own keys, and everyone’s with ?all=true for api_key.manage_all', async () => {
      const { apiKey: operatorKey } = await createKey(operator);
      const { apiKey: adminKey } = await createKey(admin);

      const own = (await call('GET', '/api/v1/api-keys', asUser(operator))).json<{
        items: { id: string }[];
      }>();
      expect(own.items.map((item) => item.id)).toContain(operatorKey.id);
      expect(own.items.map((item) => item.id)).not.toContain(adminKey.id);

      expect((await call('GET', '/api/v1/api-keys?all=true', asUser(operator))).statusCode).toBe(403);
      const all = await call('GET', '/api/v1/api-keys?all=true&pageSize=200', asUser(admin));
      expect(all.statusCode).toBe(200);
      const ids = all.json<{ items: { id: string }[] }>().items.map((item) => item.id);
      expect(ids).toEqual(expect.arrayContaining([operatorKey.id, adminKey.id]));
    });

    it('paginates', async () => {
      const user = await signInAs(app, 'viewer');
      for (const name of ['a', 'b', 'c']) await createKey(user, { name });
      const page = await call('GET', '/api/v1/api-keys?page=2&pageSize=2', asUser(user));
      expect(page.statusCode).toBe(200);
      expect(page.json()).toMatchObject({ total: 3, page: 2, pageSize: 2, items: [expect.any(Object)] });
    });

    it.each(['all=maybe', 'page=0', 'page=x', 'pageSize=-1', 'bogus=1'])(
      'refuses ?%s with 400',
      async (query) => {
        expect((await call('GET', `/api/v1/api-keys?${query}`, asUser(admin))).statusCode).toBe(400);
      },
    );

    it('requires a credential (401)', async () => {
      expect((await call('GET', '/api/v1/api-keys', {})).statusCode).toBe(401);
    });
  });

  describe('DELETE /api/v1/api-keys/:id', () => {
    it('revokes one’s own key: it stops working at once, and the revocation is audited once', async () => {
      const { key, apiKey } = await createKey(pro);
      expect((await call('GET', '/api/v1/api-keys', withKey(key))).statusCode).toBe(200);
      expect((await call('DELETE', `/api/v1/api-keys/${apiKey.id}`, asUser(pro))).statusCode).toBe(204);
      const refused = await call('GET', '/api/v1/api-keys', withKey(key));
      expect(refused.statusCode).toBe(401);
      expect(refused.json().message).toBe('API key revoked');
      // Idempotent: a second revoke succeeds and records nothing more.
      expect((await call('DELETE', `/api/v1/api-keys/${apiKey.id}`, asUser(pro))).statusCode).toBe(204);
      expect(await auditCount('api_key.revoked', apiKey.id)).toBe(1);
      const listed = (await call('GET', '/api/v1/api-keys', asUser(pro))).json<{
        items: { id: string; status: string }[];
      }>();
      expect(listed.items.find((item) => item.id === apiKey.id)?.status).toBe('revoked');
    });

    it('lets a key revoke itself', async () => {
      const { key, apiKey } = await createKey(operator);
      expect((await call('DELETE', `/api/v1/api-keys/${apiKey.id}`, withKey(key))).statusCode).toBe(204);
      expect((await call('GET', '/api/v1/api-keys', withKey(key))).statusCode).toBe(401);
    });

    it('answers 404 for someone else’s key without api_key.manage_all, and revokes it with it', async () => {
      const { key, apiKey } = await createKey(viewer);
      expect((await call('DELETE', `/api/v1/api-keys/${apiKey.id}`, asUser(operator))).statusCode).toBe(404);
      expect((await call('GET', '/api/v1/api-keys', withKey(key))).statusCode).toBe(200);
      expect((await call('DELETE', `/api/v1/api-keys/${apiKey.id}`, asUser(admin))).statusCode).toBe(204);
      expect((await call('GET', '/api/v1/api-keys', withKey(key))).statusCode).toBe(401);
      const entry = await db().auditEntry.findFirstOrThrow({
        where: { action: 'api_key.revoked', targetId: apiKey.id },
      });
      expect(entry).toMatchObject({ actorType: 'user', actorId: admin.user.id });
    });

    it('answers 404 for an unknown id, 400 for a malformed one, 401 without a credential', async () => {
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect((await call('DELETE', `/api/v1/api-keys/${unknown}`, asUser(admin))).statusCode).toBe(404);
      expect((await call('DELETE', '/api/v1/api-keys/not-a-uuid', asUser(admin))).statusCode).toBe(400);
      expect((await call('DELETE', `/api/v1/api-keys/${unknown}`, {})).statusCode).toBe(401);
    });
  });
});
