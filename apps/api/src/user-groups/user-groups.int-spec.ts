import { signInAs, type SignedInUser } from '../../test/api-test-harness';
import {
  auditEntries,
  type DeviceTestKit,
  JSON_HEADERS,
  openDeviceTestKit,
} from '../../test/device-test-kit';

interface GroupDetails {
  id: string;
  name: string;
  note: string | null;
  members: number;
  deviceGroupAccess: { id: string; name: string }[];
  userGroupAccess: { id: string; name: string }[];
}

// User groups, members and access rules, and the device-group edits, through the operator API on
// a real app and database; each change must leave its audit entry in the chain.
describe('user groups, access rules and device-group membership (operator API)', () => {
  let kit: DeviceTestKit;
  let admin: SignedInUser;
  let operator: string;
  let pro: string;
  let alice: SignedInUser;
  let bob: SignedInUser;

  beforeAll(async () => {
    kit = await openDeviceTestKit('user-groups');
    admin = await signInAs(kit.app, 'admin');
    operator = (await signInAs(kit.app, 'operator')).authorization;
    pro = (await signInAs(kit.app, 'pro')).authorization;
    alice = await signInAs(kit.app, 'viewer', { username: 'alice-ug' });
    bob = await signInAs(kit.app, 'viewer', { username: 'bob-ug' });
  });

  afterAll(async () => {
    await kit?.close();
  });

  function call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
    authorization?: string,
  ) {
    return kit.app.inject({
      method,
      url,
      headers: {
        authorization: authorization ?? admin.authorization,
        ...(payload === undefined ? {} : JSON_HEADERS),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
  }

  async function createGroup(name: string, note?: string): Promise<GroupDetails> {
    const response = await call('POST', '/api/v1/user-groups', {
      name,
      ...(note === undefined ? {} : { note }),
    });
    expect(response.statusCode).toBe(201);
    return response.json<GroupDetails>();
  }

  describe('user groups', () => {
    it('creates, lists with paging, renames and deletes, each audited', async () => {
      const sales = await createGroup('Sales', 'the sales floor');
      expect(sales).toMatchObject({
        name: 'Sales',
        note: 'the sales floor',
        members: 0,
        deviceGroupAccess: [],
      });
      await createGroup('Support');
      await createGroup('Finance');

      const first = await call('GET', '/api/v1/user-groups?page=1&pageSize=2');
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({ total: 3, page: 1, pageSize: 2 });
      expect(first.json<{ items: { name: string }[] }>().items.map((group) => group.name)).toEqual([
        'Finance',
        'Sales',
      ]);
      const second = await call('GET', '/api/v1/user-groups?page=2&pageSize=2');
      expect(second.json<{ items: { name: string }[] }>().items.map((group) => group.name)).toEqual([
        'Support',
      ]);
      const searched = await call('GET', '/api/v1/user-groups?search=SUP');
      expect(searched.json<{ total: number }>().total).toBe(1);

      const renamed = await call('PATCH', `/api/v1/user-groups/${sales.id}`, { name: 'Sales EU' });
      expect(renamed.statusCode).toBe(200);
      expect(renamed.json()).toMatchObject({ name: 'Sales EU', note: 'the sales floor' });
      const [update] = await auditEntries(kit.prisma, 'user_group.update', sales.id);
      expect(update?.details).toMatchObject({ changes: { name: { from: 'Sales', to: 'Sales EU' } } });
      expect(update?.actorId).toBe(admin.user.id);

      expect((await call('DELETE', `/api/v1/user-groups/${sales.id}`)).statusCode).toBe(204);
      expect((await call('GET', `/api/v1/user-groups/${sales.id}`)).statusCode).toBe(404);
      expect(await auditEntries(kit.prisma, 'user_group.create', sales.id)).toHaveLength(1);
      expect(await auditEntries(kit.prisma, 'user_group.delete', sales.id)).toHaveLength(1);
    });

    it('refuses a taken name (409), bad input (400) and unknown ids (404)', async () => {
      await createGroup('Taken');
      expect((await call('POST', '/api/v1/user-groups', { name: 'Taken' })).statusCode).toBe(409);
      const other = await createGroup('Other');
      expect((await call('PATCH', `/api/v1/user-groups/${other.id}`, { name: 'Taken' })).statusCode).toBe(
        409,
      );
      expect((await call('POST', '/api/v1/user-groups', { name: '' })).statusCode).toBe(400);
      expect((await call('POST', '/api/v1/user-groups', { name: 'x'.repeat(129) })).statusCode).toBe(400);
      expect((await call('POST', '/api/v1/user-groups', { name: 7 })).statusCode).toBe(400);
      expect((await call('PATCH', `/api/v1/user-groups/${other.id}`, {})).statusCode).toBe(400);
      expect((await call('GET', '/api/v1/user-groups/not-a-uuid')).statusCode).toBe(400);
      expect((await call('GET', '/api/v1/user-groups?pageSize=0')).statusCode).toBe(400);
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect((await call('GET', `/api/v1/user-groups/${unknown}`)).statusCode).toBe(404);
      expect((await call('PATCH', `/api/v1/user-groups/${unknown}`, { note: 'x' })).statusCode).toBe(404);
      expect((await call('DELETE', `/api/v1/user-groups/${unknown}`)).statusCode).toBe(404);
    });

    it('is users administration: operators and pro keys may neither read nor change groups', async () => {
      expect((await call('GET', '/api/v1/user-groups', undefined, operator)).statusCode).toBe(403);
      expect((await call('POST', '/api/v1/user-groups', { name: 'Nope' }, pro)).statusCode).toBe(403);
      expect((await call('GET', '/api/v1/user-groups', undefined, alice.authorization)).statusCode).toBe(403);
    });
  });

  describe('members', () => {
    it('adds by id or username, lists, removes; only real changes are audited', async () => {
      const team = await createGroup('Team');
      const added = await call('POST', `/api/v1/user-groups/${team.id}/members`, {
        users: [alice.user.id, 'BOB-UG'],
      });
      expect(added.statusCode).toBe(200);
      expect(added.json()).toMatchObject({ members: 2 });
      const [entry] = await auditEntries(kit.prisma, 'user_group.members_add', team.id);
      expect((entry?.details as { userIds: string[] }).userIds.sort()).toEqual(
        [alice.user.id, bob.user.id].sort(),
      );

      // Adding someone already there changes nothing.
      expect(
        (await call('POST', `/api/v1/user-groups/${team.id}/members`, { users: ['alice-ug'] })).statusCode,
      ).toBe(200);
      expect(await auditEntries(kit.prisma, 'user_group.members_add', team.id)).toHaveLength(1);

      const page = await call('GET', `/api/v1/user-groups/${team.id}/members?pageSize=1&page=2`);
      expect(page.json()).toMatchObject({ total: 2, items: [{ username: 'bob-ug', disabled: false }] });

      expect((await call('DELETE', `/api/v1/user-groups/${team.id}/members/${bob.user.id}`)).statusCode).toBe(
        204,
      );
      expect((await call('DELETE', `/api/v1/user-groups/${team.id}/members/${bob.user.id}`)).statusCode).toBe(
        404,
      );
      expect(await auditEntries(kit.prisma, 'user_group.member_remove', team.id)).toHaveLength(1);
      expect((await call('GET', `/api/v1/user-groups/${team.id}`)).json()).toMatchObject({ members: 1 });
    });

    it('adds nobody when one named user does not exist', async () => {
      const team = await createGroup('Strict team');
      const response = await call('POST', `/api/v1/user-groups/${team.id}/members`, {
        users: ['alice-ug', 'nobody-here'],
      });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('nobody-here');
      expect((await call('GET', `/api/v1/user-groups/${team.id}`)).json()).toMatchObject({ members: 0 });
      expect((await call('POST', `/api/v1/user-groups/${team.id}/members`, { users: [] })).statusCode).toBe(
        400,
      );
    });
  });

  describe('access rules', () => {
    it('grants and withdraws access to a device group and to another user group, audited once each', async () => {
      const viewers = await createGroup('Viewers');
      const targets = await createGroup('Targets');
      const kiosks = await kit.prisma.deviceGroup.create({ data: { name: 'Kiosks' } });

      const granted = await call(
        'POST',
        `/api/v1/user-groups/${viewers.id}/access/device-groups/${kiosks.id}`,
      );
      expect(granted.statusCode).toBe(200);
      expect(granted.json<GroupDetails>().deviceGroupAccess).toEqual([{ id: kiosks.id, name: 'Kiosks' }]);
      // Granting twice is not an error and writes nothing.
      expect(
        (await call('POST', `/api/v1/user-groups/${viewers.id}/access/device-groups/${kiosks.id}`))
          .statusCode,
      ).toBe(200);
      const grants = await auditEntries(kit.prisma, 'user_group.access_grant', viewers.id);
      expect(grants).toHaveLength(1);
      expect(grants[0]?.details).toMatchObject({ deviceGroup: 'Kiosks', deviceGroupId: kiosks.id });

      const toUsers = await call(
        'POST',
        `/api/v1/user-groups/${viewers.id}/access/user-groups/${targets.id}`,
      );
      expect(toUsers.json<GroupDetails>().userGroupAccess).toEqual([{ id: targets.id, name: 'Targets' }]);

      expect(
        (await call('DELETE', `/api/v1/user-groups/${viewers.id}/access/device-groups/${kiosks.id}`))
          .statusCode,
      ).toBe(204);
      expect(
        (await call('DELETE', `/api/v1/user-groups/${viewers.id}/access/device-groups/${kiosks.id}`))
          .statusCode,
      ).toBe(404);
      expect(
        (await call('DELETE', `/api/v1/user-groups/${viewers.id}/access/user-groups/${targets.id}`))
          .statusCode,
      ).toBe(204);
      expect(await auditEntries(kit.prisma, 'user_group.access_revoke', viewers.id)).toHaveLength(2);
      expect((await call('GET', `/api/v1/user-groups/${viewers.id}`)).json()).toMatchObject({
        deviceGroupAccess: [],
        userGroupAccess: [],
      });
    });

    it('answers 404 for a rule towards something that does not exist', async () => {
      const lonely = await createGroup('Lonely');
      const unknown = '00000000-0000-4000-8000-000000000001';
      expect(
        (await call('POST', `/api/v1/user-groups/${lonely.id}/access/device-groups/${unknown}`)).statusCode,
      ).toBe(404);
      expect(
        (await call('POST', `/api/v1/user-groups/${lonely.id}/access/user-groups/${unknown}`)).statusCode,
      ).toBe(404);
      expect(
        (await call('POST', `/api/v1/user-groups/${unknown}/access/user-groups/${lonely.id}`)).statusCode,
      ).toBe(404);
    });
  });

  describe('device groups', () => {
    it('renames a device group (409 on a taken name) and audits it', async () => {
      const lab = await kit.prisma.deviceGroup.create({ data: { name: 'Lab' } });
      await kit.prisma.deviceGroup.create({ data: { name: 'Lab 2' } });
      const renamed = await call('PATCH', `/api/v1/device-groups/${lab.id}`, {
        name: 'Lab 1',
        note: 'bench',
      });
      expect(renamed.statusCode).toBe(200);
      expect(renamed.json()).toMatchObject({ id: lab.id, name: 'Lab 1', note: 'bench' });
      expect((await call('PATCH', `/api/v1/device-groups/${lab.id}`, { name: 'Lab 2' })).statusCode).toBe(
        409,
      );
      const [entry] = await auditEntries(kit.prisma, 'device_group.update', lab.id);
      expect(entry?.details).toMatchObject({
        changes: { name: { from: 'Lab', to: 'Lab 1' }, note: 'bench' },
      });
      expect(
        (await call('PATCH', `/api/v1/device-groups/00000000-0000-4000-8000-000000000002`, { note: 'x' }))
          .statusCode,
      ).toBe(404);
      expect(
        (await call('PATCH', `/api/v1/device-groups/${lab.id}`, { name: 'Lab 3' }, operator)).statusCode,
      ).toBe(403);
    });

    it('puts devices in a group and takes one out, audited per device; all or nothing', async () => {
      const floor = await kit.prisma.deviceGroup.create({ data: { name: 'Floor' } });
      await kit.prisma.device.createMany({
        data: [
          { rustdeskId: 'floor001' },
          { rustdeskId: 'floor002' },
          { rustdeskId: 'floor003', deletedAt: new Date() },
        ],
      });

      const refused = await call('POST', `/api/v1/device-groups/${floor.id}/devices`, {
        devices: ['floor001', 'floor003', 'nosuch01'],
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.body).toContain('floor003');
      expect(refused.body).toContain('nosuch01');
      expect(await kit.prisma.device.count({ where: { groupId: floor.id } })).toBe(0);

      const added = await call('POST', `/api/v1/device-groups/${floor.id}/devices`, {
        devices: ['floor001', 'floor002'],
      });
      expect(added.statusCode).toBe(200);
      expect(added.json()).toMatchObject({ name: 'Floor', devices: 2 });
      const [entry] = await auditEntries(kit.prisma, 'device.update', 'floor002');
      expect(entry?.details).toMatchObject({ changes: { group: 'Floor' } });

      expect((await call('DELETE', `/api/v1/device-groups/${floor.id}/devices/floor001`)).statusCode).toBe(
        204,
      );
      expect((await call('DELETE', `/api/v1/device-groups/${floor.id}/devices/floor001`)).statusCode).toBe(
        404,
      );
      expect((await kit.prisma.device.findUnique({ where: { rustdeskId: 'floor001' } }))?.groupId).toBeNull();
      expect(await auditEntries(kit.prisma, 'device.update', 'floor001')).toHaveLength(2);
      expect(
        (await call('POST', `/api/v1/device-groups/${floor.id}/devices`, { devices: [] })).statusCode,
      ).toBe(400);
      expect(
        (await call('POST', `/api/v1/device-groups/${floor.id}/devices`, { devices: ['bad id!'] }))
          .statusCode,
      ).toBe(400);
    });
  });
});
