import { signInAs } from '../../test/api-test-harness';
import {
  auditEntries,
  type DeviceTestKit,
  JSON_HEADERS,
  openDeviceTestKit,
} from '../../test/device-test-kit';

// Bans, unbans, deletion, revocation and id changes: the rows, the audit entries, the events signal
// and the relays act on, and the relays' deny set in Redis, against real Postgres and Redis.
describe('device bans, deletion and revocation', () => {
  let kit: DeviceTestKit;
  let admin: string;
  let operator: string;
  let viewer: string;
  let pro: string;

  beforeAll(async () => {
    kit = await openDeviceTestKit('bans');
    admin = (await signInAs(kit.app, 'admin')).authorization;
    operator = (await signInAs(kit.app, 'operator')).authorization;
    viewer = (await signInAs(kit.app, 'viewer')).authorization;
    pro = (await signInAs(kit.app, 'pro')).authorization;
  });

  afterAll(async () => {
    await kit?.close();
  });

  beforeEach(async () => {
    await kit.prisma.$executeRaw`TRUNCATE devices CASCADE`;
    await kit.redis.del(kit.deniedKey);
    kit.events.clear();
  });

  function post(url: string, authorization: string, payload?: unknown) {
    return kit.app.inject({
      method: 'POST',
      url,
      headers: payload === undefined ? { authorization } : { authorization, ...JSON_HEADERS },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
  }

  function del(url: string, authorization: string) {
    return kit.app.inject({ method: 'DELETE', url, headers: { authorization } });
  }

  async function seed(...ids: string[]) {
    await kit.prisma.device.createMany({
      data: ids.map((rustdeskId) => ({ rustdeskId, hostname: `host-${rustdeskId}` })),
    });
  }

  describe('ban and unban', () => {
    it('bans with reason and actor: row, audit entry, deny set, then DeviceBanned', async () => {
      await seed('111111111');
      const operatorUser = await signInAs(kit.app, 'operator');

      const response = await post('/api/v1/devices/111111111/ban', operatorUser.authorization, {
        reason: 'stolen laptop',
      });

      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        id: '111111111',
        banned: true,
        banReason: 'stolen laptop',
        bannedBy: `user:${operatorUser.user.id}`,
      });
      expect(await kit.denied()).toEqual(['111111111']);
      const [event] = await kit.events.waitFor(1);
      expect(event).toEqual({
        type: 'DeviceBanned',
        payload: { deviceId: '111111111', reason: 'stolen laptop', actor: `user:${operatorUser.user.id}` },
      });
      const [entry] = await auditEntries(kit.prisma, 'device.ban');
      expect(entry).toMatchObject({
        actorType: 'user',
        actorId: operatorUser.user.id,
        targetType: 'device',
        targetId: '111111111',
        ip: '127.0.0.1',
        details: { reason: 'stolen laptop', created: false, userAgent: 'lightMyRequest' },
      });
    });

    it('banning an id never seen creates it banned and pending, so an unban does not admit it', async () => {
      const response = await post('/api/v1/devices/999000111/ban', admin, { reason: 'pre-emptive' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ id: '999000111', banned: true, admission: 'pending' });
      expect(await kit.denied()).toEqual(['999000111']);
      expect((await auditEntries(kit.prisma, 'device.ban')).at(-1)?.details).toMatchObject({ created: true });

      expect((await post('/api/v1/devices/999000111/unban', admin)).json()).toMatchObject({
        banned: false,
        admission: 'pending',
      });
      expect(await kit.denied()).toEqual([]);
    });

    it('refuses a second ban (409) and an unban of a device that is not banned (409), changing nothing', async () => {
      await seed('222222222');
      expect((await post('/api/v1/devices/222222222/ban', admin, { reason: 'first' })).statusCode).toBe(200);
      const again = await post('/api/v1/devices/222222222/ban', admin, { reason: 'second' });
      expect(again.statusCode).toBe(409);
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: '222222222' } });
      expect(row.banReason).toBe('first');

      expect((await post('/api/v1/devices/222222222/unban', admin)).statusCode).toBe(200);
      expect((await post('/api/v1/devices/222222222/unban', admin)).statusCode).toBe(409);
      expect((await post('/api/v1/devices/333333333/unban', admin)).statusCode).toBe(404);
      expect(await auditEntries(kit.prisma, 'device.ban', '222222222')).toHaveLength(1);
      expect(await auditEntries(kit.prisma, 'device.unban', '222222222')).toHaveLength(1);
      const events = await kit.events.waitFor(2);
      expect(events.map((event) => event.type)).toEqual(['DeviceBanned', 'DeviceUnbanned']);
    });

    it('validates the body and the id: 400 for a missing, empty, oversized or wrongly typed reason, bad JSON and bad ids', async () => {
      await seed('444444444');
      const bad = [
        {},
        { reason: '' },
        { reason: 'x'.repeat(513) },
        { reason: 42 },
        { reason: 'ok', extra: true },
      ];
      for (const body of bad) {
        const response = await post('/api/v1/devices/444444444/ban', admin, body);
        expect(response.statusCode).toBe(400);
        expect(response.json().message).toEqual(
          expect.arrayContaining([expect.stringMatching(/reason|extra|Unrecognized/)]),
        );
      }
      const malformed = await kit.app.inject({
        method: 'POST',
        url: '/api/v1/devices/444444444/ban',
        headers: { authorization: admin, ...JSON_HEADERS },
        payload: '{"reason": "x"',
      });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json().message).toMatch(/not valid JSON/);
      for (const id of ['has%20space', 'semi;colon', 'x'.repeat(33), 'dot.ted']) {
        expect((await post(`/api/v1/devices/${id}/ban`, admin, { reason: 'r' })).statusCode).toBe(400);
      }
      expect(await kit.denied()).toEqual([]);
      expect(await auditEntries(kit.prisma, 'device.ban', '444444444')).toHaveLength(0);
    });

    it('lets operator and pro ban, not viewer (403); without a credential 401', async () => {
      await seed('555555555');
      expect((await post('/api/v1/devices/555555555/ban', viewer, { reason: 'r' })).statusCode).toBe(403);
      expect(
        (
          await kit.app.inject({
            method: 'POST',
            url: '/api/v1/devices/555555555/ban',
            headers: JSON_HEADERS,
            payload: '{"reason":"r"}',
          })
        ).statusCode,
      ).toBe(401);
      expect((await post('/api/v1/devices/555555555/ban', operator, { reason: 'r' })).statusCode).toBe(200);
      expect((await post('/api/v1/devices/555555555/unban', viewer)).statusCode).toBe(403);
      expect((await post('/api/v1/devices/555555555/unban', pro)).statusCode).toBe(200);
      expect((await post('/api/v1/devices/555555555/ban', pro, { reason: 'r' })).statusCode).toBe(200);
    });
  });

  describe('delete', () => {
    it('soft-deletes by default: the row stays, the id is denied, DeviceDeleted{hard:false}', async () => {
      await seed('123123123');
      const response = await del('/api/v1/devices/123123123', admin);
      expect(response.statusCode).toBe(204);
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: '123123123' } });
      expect(row.deletedAt).toBeInstanceOf(Date);
      expect(await kit.denied()).toEqual(['123123123']);
      expect((await del('/api/v1/devices/123123123', admin)).statusCode).toBe(409);
      const [event] = await kit.events.waitFor(1);
      expect(event).toMatchObject({ type: 'DeviceDeleted', payload: { deviceId: '123123123', hard: false } });
      expect(await auditEntries(kit.prisma, 'device.delete', '123123123')).toHaveLength(1);
    });

    it('purge removes the row of a device that is neither banned nor revoked, DeviceDeleted{hard:true}', async () => {
      await seed('321321321');
      expect((await del('/api/v1/devices/321321321', admin)).statusCode).toBe(204);
      expect(await kit.denied()).toEqual(['321321321']);
      const response = await post('/api/v1/devices/321321321/purge', admin);
      expect(response.statusCode).toBe(204);
      expect(await kit.prisma.device.count({ where: { rustdeskId: '321321321' } })).toBe(0);
      expect(await kit.denied()).toEqual([]);
      const events = await kit.events.waitFor(2);
      expect(events[1]).toMatchObject({
        type: 'DeviceDeleted',
        payload: { deviceId: '321321321', hard: true },
      });
      expect((await post('/api/v1/devices/321321321/purge', admin)).statusCode).toBe(404);
      expect(await auditEntries(kit.prisma, 'device.delete_hard', '321321321')).toHaveLength(1);
    });

    it('refuses to purge a banned device (409) until it is unbanned: the ban lives in the row', async () => {
      await seed('321321322');
      expect((await post('/api/v1/devices/321321322/ban', admin, { reason: 'r' })).statusCode).toBe(200);
      const refused = await post('/api/v1/devices/321321322/purge', admin);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().message).toMatch(/banned/);
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: '321321322' } });
      expect(row.banned).toBe(true);
      expect(await kit.denied()).toEqual(['321321322']);
      expect(await auditEntries(kit.prisma, 'device.delete_hard', '321321322')).toHaveLength(0);

      expect((await post('/api/v1/devices/321321322/unban', admin)).statusCode).toBe(200);
      expect((await post('/api/v1/devices/321321322/purge', admin)).statusCode).toBe(204);
    });

    it('never purges a revoked device (409), unbanned or not: its id stays known', async () => {
      // Revoked as POST .../revoke leaves it, without its audit entry (another test counts those).
      const at = new Date();
      await kit.prisma.device.create({
        data: { rustdeskId: '321321323', banned: true, bannedAt: at, revokedAt: at, deletedAt: at },
      });
      await kit.redis.sadd(kit.deniedKey, '321321323');
      expect((await post('/api/v1/devices/321321323/purge', admin)).statusCode).toBe(409);
      expect((await post('/api/v1/devices/321321323/unban', admin)).statusCode).toBe(200);
      const refused = await post('/api/v1/devices/321321323/purge', admin);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().message).toMatch(/revoked/);
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: '321321323' } });
      expect(row.revokedAt).toBeInstanceOf(Date);
      expect(await kit.denied()).toEqual(['321321323']);
    });

    it('purge is admin only (device.purge): pro and operator get 403; DELETE ?hard=true is a 400', async () => {
      await seed('321321324');
      for (const authorization of [pro, operator, viewer]) {
        expect((await post('/api/v1/devices/321321324/purge', authorization)).statusCode).toBe(403);
      }
      expect((await del('/api/v1/devices/321321324?hard=true', admin)).statusCode).toBe(400);
      expect((await del('/api/v1/devices/321321324?hard=true', pro)).statusCode).toBe(400);
      expect(await kit.prisma.device.count({ where: { rustdeskId: '321321324' } })).toBe(1);
    });

    it('unbanning a deleted device keeps it in the deny set (SREM only when nothing else denies it)', async () => {
      await seed('777777777');
      await post('/api/v1/devices/777777777/ban', admin, { reason: 'r' });
      await del('/api/v1/devices/777777777', admin);
      expect((await post('/api/v1/devices/777777777/unban', admin)).statusCode).toBe(200);
      expect(await kit.denied()).toEqual(['777777777']);
      expect((await auditEntries(kit.prisma, 'device.unban', '777777777'))[0]?.details).toMatchObject({
        stillDenied: true,
      });
    });

    it('is device.manage: operator and viewer get 403, pro may', async () => {
      await seed('888888888');
      expect((await del('/api/v1/devices/888888888', operator)).statusCode).toBe(403);
      expect((await del('/api/v1/devices/888888888', viewer)).statusCode).toBe(403);
      expect((await del('/api/v1/devices/888888888', pro)).statusCode).toBe(204);
    });
  });

  describe('links and revoke', () => {
    it('revokes with the transitive cascade through links: all soft-deleted, banned, in the deny set', async () => {
      // a - b - c (chain), and d linked to nobody; a second ban reason on c stays as it was.
      await seed('aaaaaa1', 'bbbbbb1', 'cccccc1', 'dddddd1');
      expect((await post('/api/v1/devices/aaaaaa1/links/bbbbbb1', admin)).statusCode).toBe(200);
      const linked = await post('/api/v1/devices/cccccc1/links/bbbbbb1', admin);
      expect(linked.statusCode).toBe(200);
      expect(linked.json().links).toEqual([{ id: 'bbbbbb1', linkedAt: expect.any(String) }]);
      await post('/api/v1/devices/cccccc1/ban', admin, { reason: 'earlier ban' });
      kit.events.clear();

      const response = await post('/api/v1/devices/aaaaaa1/revoke', admin, {
        cascade: true,
        reason: 'compromised',
      });

      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        revoked: true,
        deleted: true,
        banned: true,
        banReason: 'compromised',
      });
      const rows = await kit.prisma.device.findMany({ orderBy: { rustdeskId: 'asc' } });
      expect(
        rows.map((row) => [
          row.rustdeskId,
          row.banned,
          row.revokedAt !== null,
          row.deletedAt !== null,
          row.banReason,
        ]),
      ).toEqual([
        ['aaaaaa1', true, true, true, 'compromised'],
        ['bbbbbb1', true, true, true, 'compromised'],
        ['cccccc1', true, true, true, 'earlier ban'],
        ['dddddd1', false, false, false, null],
      ]);
      expect(await kit.denied()).toEqual(['aaaaaa1', 'bbbbbb1', 'cccccc1']);
      const [event] = await kit.events.waitFor(1);
      expect(event?.type).toBe('DeviceRevoked');
      expect(event?.payload).toMatchObject({ deviceId: 'aaaaaa1', cascade: ['bbbbbb1', 'cccccc1'] });
      const entries = (await auditEntries(kit.prisma, 'device.revoke')).filter(
        (entry) => entry.targetId !== null,
      );
      expect(entries.map((entry) => [entry.targetId, entry.details])).toEqual([
        ['aaaaaa1', expect.objectContaining({ reason: 'compromised', cascade: ['bbbbbb1', 'cccccc1'] })],
        ['bbbbbb1', expect.objectContaining({ cascadeFrom: 'aaaaaa1' })],
        ['cccccc1', expect.objectContaining({ cascadeFrom: 'aaaaaa1' })],
      ]);
      expect((await post('/api/v1/devices/aaaaaa1/revoke', admin, {})).statusCode).toBe(409);
    });

    it('revokes one device only without cascade (the default), with the default reason', async () => {
      await seed('eeeeee1', 'ffffff1');
      await post('/api/v1/devices/eeeeee1/links/ffffff1', admin);
      const response = await post('/api/v1/devices/eeeeee1/revoke', admin, {});
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ banReason: 'revoked' });
      expect(await kit.denied()).toEqual(['eeeeee1']);
      const events = await kit.events.waitFor(1);
      expect(events[0]?.payload).toMatchObject({ deviceId: 'eeeeee1', cascade: [] });
    });

    it('refuses bad revoke bodies (400), unknown devices (404) and operators (403)', async () => {
      await seed('gggggg1');
      expect((await post('/api/v1/devices/gggggg1/revoke', admin, { cascade: 'yes' })).statusCode).toBe(400);
      expect(
        (await post('/api/v1/devices/gggggg1/revoke', admin, { reason: 'x'.repeat(600) })).statusCode,
      ).toBe(400);
      expect((await post('/api/v1/devices/nope999/revoke', admin, {})).statusCode).toBe(404);
      expect((await post('/api/v1/devices/gggggg1/revoke', operator, {})).statusCode).toBe(403);
      expect(await kit.denied()).toEqual([]);
    });

    it('manages links: 409 when already linked either way, 404 for unknown devices or no link, 400 for a self-link', async () => {
      await seed('hhhhhh1', 'iiiiii1');
      expect((await post('/api/v1/devices/hhhhhh1/links/iiiiii1', admin)).statusCode).toBe(200);
      expect((await post('/api/v1/devices/iiiiii1/links/hhhhhh1', admin)).statusCode).toBe(409);
      expect((await post('/api/v1/devices/hhhhhh1/links/hhhhhh1', admin)).statusCode).toBe(400);
      expect((await post('/api/v1/devices/hhhhhh1/links/nobody1', admin)).statusCode).toBe(404);
      expect((await post('/api/v1/devices/hhhhhh1/links/iiiiii1', operator)).statusCode).toBe(403);
      expect((await del('/api/v1/devices/iiiiii1/links/hhhhhh1', admin)).statusCode).toBe(204);
      expect((await del('/api/v1/devices/iiiiii1/links/hhhhhh1', admin)).statusCode).toBe(404);
      expect(await kit.prisma.deviceLink.count()).toBe(0);
      expect(await auditEntries(kit.prisma, 'device.link', 'hhhhhh1')).toHaveLength(1);
      expect(await auditEntries(kit.prisma, 'device.unlink', 'iiiiii1')).toHaveLength(1);
    });
  });

  describe('change id', () => {
    it('moves a banned device and its deny-set entry to the new id, DeviceIdChanged', async () => {
      await seed('500500500', 'taken01');
      await post('/api/v1/devices/500500500/ban', admin, { reason: 'r' });
      kit.events.clear();
      const response = await post('/api/v1/devices/500500500/change-id', admin, { newId: 'renamed01' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ id: 'renamed01', banned: true });
      expect(await kit.denied()).toEqual(['renamed01']);
      const [event] = await kit.events.waitFor(1);
      expect(event).toMatchObject({
        type: 'DeviceIdChanged',
        payload: { oldDeviceId: '500500500', newDeviceId: 'renamed01' },
      });
      expect(
        (await post('/api/v1/devices/renamed01/change-id', admin, { newId: 'taken01' })).statusCode,
      ).toBe(409);
      expect(
        (await post('/api/v1/devices/renamed01/change-id', admin, { newId: '1startsdigit' })).statusCode,
      ).toBe(400);
      expect(
        (await post('/api/v1/devices/renamed01/change-id', admin, { newId: 'renamed01' })).statusCode,
      ).toBe(400);
      expect(await kit.denied()).toEqual(['renamed01']);
    });
  });

  describe('approve', () => {
    it('admits a pending device, publishes DeviceApproved, and refuses one that is not pending (409)', async () => {
      await kit.prisma.device.create({ data: { rustdeskId: 'pending1', admission: 'pending' } });
      const response = await post('/api/v1/devices/pending1/approve', pro);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        admission: 'admitted',
        admittedBy: expect.stringMatching(/^user:/),
      });
      const [event] = await kit.events.waitFor(1);
      expect(event).toMatchObject({ type: 'DeviceApproved', payload: { deviceId: 'pending1' } });
      expect((await post('/api/v1/devices/pending1/approve', admin)).statusCode).toBe(409);
      expect((await post('/api/v1/devices/nobody1/approve', admin)).statusCode).toBe(404);
      expect((await post('/api/v1/devices/pending1/approve', operator)).statusCode).toBe(403);
    });
  });

  describe('concurrency and atomicity', () => {
    it('racing bans, unbans and a revoke of one device end with Postgres, the deny set and the audit in agreement', async () => {
      await seed('race0001');
      const requests = Array.from({ length: 24 }, (_, index) =>
        index === 17
          ? post('/api/v1/devices/race0001/revoke', admin, { reason: 'mid-race' })
          : index % 2 === 0
            ? post('/api/v1/devices/race0001/ban', admin, { reason: `ban ${index}` })
            : post('/api/v1/devices/race0001/unban', admin),
      );
      const responses = await Promise.all(requests);
      expect(responses.every((response) => [200, 409].includes(response.statusCode))).toBe(true);
      const succeeded = responses.filter((response) => response.statusCode === 200).length;

      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: 'race0001' } });
      const deniedInPostgres = row.banned || row.revokedAt !== null || row.deletedAt !== null;
      expect(await kit.denied()).toEqual(deniedInPostgres ? ['race0001'] : []);
      expect(row.revokedAt).not.toBeNull();
      const entries = await auditEntries(kit.prisma, undefined, 'race0001');
      expect(entries).toHaveLength(succeeded);
      // Replayed in the committed order, every entry was legal at its turn: a ban only of an unbanned
      // device, an unban only of a banned one; the revoke bans as well, so an unban may follow it.
      let banned = false;
      for (const { action } of entries) {
        if (action === 'device.unban') expect(banned).toBe(true);
        else if (action === 'device.ban') expect(banned).toBe(false);
        else expect(action).toBe('device.revoke');
        banned = action !== 'device.unban';
      }
      expect(banned).toBe(row.banned);
      expect(await kit.events.waitFor(succeeded)).toHaveLength(succeeded);
    });

    it('writes no audit entry when the change fails, and no change when its audit entry fails', async () => {
      await seed('atomic01');
      // A trigger makes the device write itself fail.
      await kit.prisma.$executeRawUnsafe(`
        CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$`);
      await kit.prisma.$executeRawUnsafe(`
        CREATE TRIGGER refuse_device_update BEFORE UPDATE ON devices
        FOR EACH ROW WHEN (NEW.rustdesk_id = 'atomic01') EXECUTE FUNCTION refuse_write()`);
      try {
        expect((await post('/api/v1/devices/atomic01/ban', admin, { reason: 'r' })).statusCode).toBe(500);
        expect(await auditEntries(kit.prisma, 'device.ban', 'atomic01')).toHaveLength(0);
      } finally {
        await kit.prisma.$executeRawUnsafe('DROP TRIGGER refuse_device_update ON devices');
      }
      // And the audit append failing rolls the ban back.
      await kit.prisma.$executeRawUnsafe(`
        CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries
        FOR EACH ROW EXECUTE FUNCTION refuse_write()`);
      try {
        expect((await post('/api/v1/devices/atomic01/ban', admin, { reason: 'r' })).statusCode).toBe(500);
      } finally {
        await kit.prisma.$executeRawUnsafe('DROP TRIGGER refuse_audit ON audit_entries');
        await kit.prisma.$executeRawUnsafe('DROP FUNCTION refuse_write()');
      }
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: 'atomic01' } });
      expect(row.banned).toBe(false);
      expect(await kit.denied()).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(kit.events.received).toEqual([]);
      // Afterwards the same ban goes through.
      expect((await post('/api/v1/devices/atomic01/ban', admin, { reason: 'r' })).statusCode).toBe(200);
    });
  });
});
