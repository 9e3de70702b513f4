import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { type InjectOptions } from 'fastify';

import { signInAs, type SignedInUser, startTestApp } from '../../test/api-test-harness';
import { DatabaseConnection } from '../database/database.connection';

type Method = 'POST' | 'PATCH' | 'DELETE';

// Its own database: these tests need to know exactly which admins exist.
describe('the last enabled admin', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: `test-last-admin-${process.pid}`,
      LOG_LEVEL: 'error',
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const db = () => app.get(DatabaseConnection).client;

  function call(method: Method, url: string, user: SignedInUser, payload?: unknown) {
    const options: InjectOptions = { method, url, headers: { authorization: user.authorization } };
    if (payload !== undefined) {
      options.payload = JSON.stringify(payload);
      options.headers = { ...options.headers, 'content-type': 'application/json' };
    }
    return app.inject(options);
  }

  const enabledAdmins = () => db().user.count({ where: { role: 'admin', disabled: false } });

  /** Leaves exactly `admins` as the enabled admins (everyone else who was one becomes a viewer). */
  async function onlyAdmins(...admins: SignedInUser[]): Promise<void> {
    const ids = admins.map((admin) => admin.user.id);
    await db().user.updateMany({ where: { role: 'admin', id: { notIn: ids } }, data: { role: 'viewer' } });
    await db().user.updateMany({ where: { id: { in: ids } }, data: { role: 'admin', disabled: false } });
  }

  const removals: [string, Method, (id: string) => string, unknown][] = [
    ['demoted', 'PATCH', (id) => `/api/v1/users/${id}`, { role: 'operator' }],
    ['disabled', 'POST', (id) => `/api/v1/users/${id}/disable`, {}],
    ['deleted', 'DELETE', (id) => `/api/v1/users/${id}`, undefined],
  ];

  it.each(removals)(
    'cannot be %s, not even by themselves (409, nothing changes or is audited)',
    async (what, method, url, body) => {
      const admin = await signInAs(app, 'admin');
      await onlyAdmins(admin);
      const auditBefore = await db().auditEntry.count();
      const response = await call(method, url(admin.user.id), admin, body);
      expect(response.statusCode).toBe(409);
      expect(response.json<{ message: string }>().message).toBe(`The last enabled admin cannot be ${what}`);
      expect(await db().user.findUnique({ where: { id: admin.user.id } })).toMatchObject({
        role: 'admin',
        disabled: false,
      });
      expect(await db().auditEntry.count()).toBe(auditBefore);
    },
  );

  it('does not count disabled admins', async () => {
    const admin = await signInAs(app, 'admin');
    const dormant = await signInAs(app, 'admin');
    await onlyAdmins(admin);
    await db().user.update({ where: { id: dormant.user.id }, data: { role: 'admin', disabled: true } });
    expect(
      (await call('PATCH', `/api/v1/users/${admin.user.id}`, admin, { role: 'viewer' })).statusCode,
    ).toBe(409);
    // A disabled admin is no last admin: it may be demoted or deleted freely.
    expect(
      (await call('PATCH', `/api/v1/users/${dormant.user.id}`, admin, { role: 'viewer' })).statusCode,
    ).toBe(200);
    expect((await call('DELETE', `/api/v1/users/${dormant.user.id}`, admin)).statusCode).toBe(204);
  });

  it('may be removed once another enabled admin exists, and may step down themselves', async () => {
    const first = await signInAs(app, 'admin');
    const second = await signInAs(app, 'admin');
    await onlyAdmins(first, second);
    const stepDown = await call('PATCH', `/api/v1/users/${first.user.id}`, first, { role: 'operator' });
    expect(stepDown.statusCode).toBe(200);
    expect(await enabledAdmins()).toBe(1);
    // Now `second` is the last one.
    expect((await call('POST', `/api/v1/users/${second.user.id}/disable`, second, {})).statusCode).toBe(409);
    // Promoting someone lifts the rule again.
    expect(
      (await call('PATCH', `/api/v1/users/${first.user.id}`, second, { role: 'admin' })).statusCode,
    ).toBe(200);
    expect((await call('POST', `/api/v1/users/${second.user.id}/disable`, first, {})).statusCode).toBe(200);
    expect(await enabledAdmins()).toBe(1);
  });

  // Two admins removing each other at the same instant: without the row locks both would see two
  // admins and both would succeed. Several rounds, since one round may happen not to overlap.
  it.each(removals)(
    'two admins who are %s by each other at once leave exactly one',
    async (_what, method, url, body) => {
      for (let round = 0; round < 5; round++) {
        const left = await signInAs(app, 'admin');
        const right = await signInAs(app, 'admin');
        await onlyAdmins(left, right);
        const responses = await Promise.all([
          call(method, url(right.user.id), left, body),
          call(method, url(left.user.id), right, body),
        ]);
        const statuses = responses.map((response) => response.statusCode).sort();
        // One wins; the other found itself the last admin (409), had already lost its role (403), or
        // (disabled or deleted) no longer had a session by the time its request was authenticated (401).
        expect(statuses[0]).toBeLessThan(300);
        expect([401, 403, 409]).toContain(statuses[1]);
        expect(await enabledAdmins()).toBe(1);
      }
    },
  );

  it('survives a crowd: five admins each demoting all the others at once leave exactly one', async () => {
    const admins: SignedInUser[] = [];
    for (let index = 0; index < 5; index++) admins.push(await signInAs(app, 'admin'));
    await onlyAdmins(...admins);
    const attempts = admins.flatMap((actor) =>
      admins
        .filter((target) => target !== actor)
        .map((target) => call('PATCH', `/api/v1/users/${target.user.id}`, actor, { role: 'viewer' })),
    );
    const responses = await Promise.all(attempts);
    expect(responses.filter((r) => ![200, 403, 409].includes(r.statusCode)).map((r) => r.body)).toEqual([]);
    expect(await enabledAdmins()).toBe(1);
  });
});
