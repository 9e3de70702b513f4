import { randomBytes } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { type EventPayload, RedisEventBus } from '@switchboard/events';
import { createLogger } from '@switchboard/observability';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import {
  type SignedInUser,
  signInAs,
  startTestApp,
  TEST_EVENT_SIGNING_KEY,
} from '../../test/api-test-harness';

const REDIS_KEY_PREFIX = `sb-test-settings-${randomBytes(4).toString('hex')}`;

describe('settings API', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let prisma: PrismaClient;
  let bus: RedisEventBus;
  let admin: SignedInUser;
  const announced: EventPayload<'ConfigChanged'>[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX,
      SETTING_VALUE_MAX_BYTES: '1024',
    });
    prisma = createPrismaClient(database.url);
    // What signal listens to: the deployment's event channel.
    bus = new RedisEventBus({
      redis: 'redis://127.0.0.1:6379',
      prefix: `${REDIS_KEY_PREFIX}:events`,
      verifyKey: TEST_EVENT_SIGNING_KEY.verifyKey,
      logger: createLogger({ name: 'settings-test', level: 'silent' }),
    });
    bus.on('ConfigChanged', ({ payload }) => {
      announced.push(payload);
    });
    await bus.start();
    admin = await signInAs(app, 'admin');
  });

  afterAll(async () => {
    await bus?.stop();
    await app?.close();
    await prisma?.$disconnect();
    await database?.drop();
  });

  const put = (key: string, body: unknown, authorization = admin.authorization) =>
    app.inject({
      method: 'PUT',
      url: `/api/v1/settings/${key}`,
      headers: { authorization, 'content-type': 'application/json', 'user-agent': 'settings-test/1' },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (path: string, authorization = admin.authorization) =>
    app.inject({ method: 'GET', url: `/api/v1/settings${path}`, headers: { authorization } });
  const del = (key: string, authorization = admin.authorization) =>
    app.inject({ method: 'DELETE', url: `/api/v1/settings/${key}`, headers: { authorization } });
  const entries = (key: string) =>
    prisma.auditEntry.findMany({
      where: { action: 'setting.changed', targetId: key },
      orderBy: { seq: 'asc' },
    });
  /** Pub/sub is asynchronous: wait until `count` announcements arrived (or fail after 5 s). */
  async function announcements(count: number): Promise<EventPayload<'ConfigChanged'>[]> {
    for (const started = Date.now(); announced.length < count && Date.now() - started < 5_000;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return [...announced];
  }

  it('sets registration.policy, records old and new value, and announces ConfigChanged', async () => {
    const before = announced.length;
    const response = await put('registration.policy', { value: 'approval' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      key: 'registration.policy',
      value: 'approval',
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedBy: `user:${admin.user.id}`,
    });
    expect((await get('/registration.policy')).json()).toMatchObject({ value: 'approval' });
    const [entry] = await entries('registration.policy');
    expect(entry).toMatchObject({
      actorType: 'user',
      actorId: admin.user.id,
      targetType: 'setting',
      ip: '127.0.0.1',
      details: { old: null, new: 'approval', userAgent: 'settings-test/1' },
    });
    expect((await announcements(before + 1)).slice(before)).toEqual([
      { key: 'registration.policy', value: 'approval', actor: `user:${admin.user.id}` },
    ]);

    const changed = await put('registration.policy', { value: 'locked' });
    expect(changed.statusCode).toBe(200);
    expect((await entries('registration.policy')).map((row) => row.details)).toEqual([
      expect.objectContaining({ old: null, new: 'approval' }),
      expect.objectContaining({ old: 'approval', new: 'locked' }),
    ]);
    expect((await announcements(before + 2))[before + 1]).toEqual({
      key: 'registration.policy',
      value: 'locked',
      actor: `user:${admin.user.id}`,
    });
  });

  it('writing the value a key already holds records and announces nothing', async () => {
    await put('registration.policy', { value: 'token' });
    const count = (await entries('registration.policy')).length;
    const seen = (await announcements(announced.length)).length;
    const same = await put('registration.policy', { value: 'token' });
    expect(same.statusCode).toBe(200);
    expect(same.json().value).toBe('token');
    expect(await entries('registration.policy')).toHaveLength(count);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(announced).toHaveLength(seen);
  });

  it.each([
    ['a name that is not a policy', 'bogus'],
    ['a number', 5],
    ['null', null],
    ['an object', { policy: 'open' }],
  ])('refuses %s as registration.policy, changing nothing', async (_label, value) => {
    const count = (await entries('registration.policy')).length;
    const response = await put('registration.policy', { value });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toEqual(['value: must be one of open, token, approval, locked']);
    expect(await entries('registration.policy')).toHaveLength(count);
  });

  it('stores any JSON under other keys, null included', async () => {
    const value = { retention: { days: 90 }, list: [1, 'two', true, null], ünï: 'cødé' };
    expect((await put('console.banner', { value })).statusCode).toBe(200);
    expect((await get('/console.banner')).json().value).toEqual(value);
    expect((await put('feature_x-1', { value: null })).statusCode).toBe(200);
    const stored = await get('/feature_x-1');
    expect(stored.statusCode).toBe(200);
    expect(stored.json().value).toBeNull();
    // A key that names an Object.prototype member is an ordinary key.
    expect((await put('constructor', { value: 1 })).statusCode).toBe(200);
  });

  it('lists every setting in key order', async () => {
    const response = await get('');
    expect(response.statusCode).toBe(200);
    const keys = response.json<{ settings: { key: string }[] }>().settings.map((setting) => setting.key);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(expect.arrayContaining(['registration.policy', 'console.banner', 'feature_x-1']));
  });

  it.each([
    ['a space', 'bad%20key'],
    ['a slash', 'a%2Fb'],
    ['65 characters', 'k'.repeat(65)],
    ['a colon', 'a:b'],
  ])('refuses a key with %s (400)', async (_label, key) => {
    const response = await put(key, { value: 1 });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toEqual([expect.stringMatching(/^key: must be 1-64 characters/)]);
    expect((await get(`/${key}`)).statusCode).toBe(400);
  });

  it('accepts a key of exactly 64 characters', async () => {
    expect((await put('k'.repeat(64), { value: 'x' })).statusCode).toBe(200);
  });

  it.each([
    ['malformed JSON', '{"value": '],
    ['no value', {}],
    ['an extra field', { value: 1, other: 2 }],
    ['a body that is not an object', '[1]'],
  ])('refuses %s (400)', async (_label, body) => {
    const response = await put('some.key', body);
    expect(response.statusCode).toBe(400);
    expect((await get('/some.key')).statusCode).toBe(404);
  });

  it('refuses a value over SETTING_VALUE_MAX_BYTES (400) and accepts one at the limit', async () => {
    // JSON of a string of n ASCII characters is n + 2 bytes.
    const over = await put('big', { value: 'x'.repeat(1023) });
    expect(over.statusCode).toBe(400);
    expect(over.json().message).toEqual(['value: larger than 1024 bytes as JSON']);
    expect((await put('big', { value: 'x'.repeat(1022) })).statusCode).toBe(200);
  });

  it('refuses a deeply nested value without falling over', async () => {
    const deep = `{"value":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const response = await put('deep', deep);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toEqual(['value: must nest at most 32 deep']);
    const nested = (depth: number): unknown => (depth === 1 ? [] : [nested(depth - 1)]);
    expect((await put('deep', { value: nested(33) })).statusCode).toBe(400);
    expect((await put('deep-ok', { value: nested(32) })).statusCode).toBe(200);
    expect((await get('/deep')).statusCode).toBe(404);
  });

  it('deletes a setting: 204, audited, announced as null; then 404', async () => {
    const before = announced.length + 1;
    await put('to.delete', { value: { a: 1 } });
    await announcements(before);
    const response = await del('to.delete');
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect((await get('/to.delete')).statusCode).toBe(404);
    const rows = await entries('to.delete');
    expect(rows.at(-1)?.details).toMatchObject({ old: { a: 1 }, new: null, deleted: true });
    expect((await announcements(before + 1))[before]).toEqual({
      key: 'to.delete',
      value: null,
      actor: `user:${admin.user.id}`,
    });
    const again = await del('to.delete');
    expect(again.statusCode).toBe(404);
    expect(again.json().message).toBe('No setting "to.delete"');
    expect(await entries('to.delete')).toHaveLength(rows.length);
  });

  it('is 404 for a key that was never set', async () => {
    expect((await get('/never.set')).statusCode).toBe(404);
  });

  describe('who may', () => {
    it('refuses every route without credentials (401)', async () => {
      for (const response of [
        await app.inject({ method: 'GET', url: '/api/v1/settings' }),
        await app.inject({ method: 'GET', url: '/api/v1/settings/registration.policy' }),
        await app.inject({ method: 'PUT', url: '/api/v1/settings/x', payload: { value: 1 } }),
        await app.inject({ method: 'DELETE', url: '/api/v1/settings/x' }),
      ]) {
        expect(response.statusCode).toBe(401);
      }
    });

    it.each(['operator', 'viewer', 'pro'] as const)(
      'refuses the %s role on every route (403)',
      async (role) => {
        const { authorization } = await signInAs(app, role);
        await put('registration.policy', { value: 'open' });
        const count = (await entries('registration.policy')).length;
        expect((await get('', authorization)).statusCode).toBe(403);
        expect((await get('/registration.policy', authorization)).statusCode).toBe(403);
        expect((await put('registration.policy', { value: 'locked' }, authorization)).statusCode).toBe(403);
        expect((await del('registration.policy', authorization)).statusCode).toBe(403);
        expect((await get('/registration.policy')).json().value).toBe('open');
        expect(await entries('registration.policy')).toHaveLength(count);
      },
    );
  });
});
