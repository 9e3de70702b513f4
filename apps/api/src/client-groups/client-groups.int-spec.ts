import { signInAs, type SignedInUser } from '../../test/api-test-harness';
import { clientLogin } from '../../test/client-login';
import { type DeviceTestKit, openDeviceTestKit } from '../../test/device-test-kit';

interface Paged<T> {
  total: number;
  data: T[];
}

interface UserItem {
  name: string;
  display_name: string | null;
  email?: string | null;
  note?: string | null;
  status: number;
  is_admin: boolean;
}

interface PeerItem {
  id: string;
  info: { device_name: string | null; os: string | null; username: string | null };
  status: number;
  user: string | null;
  user_name: string | null;
  device_group_name: string | null;
  note: string | null;
}

// The client's group tab (docs/client-api.md §5) on a real app, database and Redis: requests shaped
// as flutter/lib/models/group_model.dart sends them (bearer, no Content-Type, current/pageSize,
// `accessible=` and `status=1`), callers signed in through the real POST /api/login.
describe('client group tab: who sees what', () => {
  let kit: DeviceTestKit;
  const tokens: Record<string, string> = {};
  const users: Record<string, SignedInUser> = {};

  async function person(name: string, role: 'admin' | 'viewer' = 'viewer'): Promise<SignedInUser> {
    const user = await signInAs(kit.app, role, { username: name });
    users[name] = user;
    return user;
  }

  async function token(name: string): Promise<string> {
    const user = users[name];
    if (user === undefined) throw new Error(name);
    tokens[name] ??= await clientLogin(kit.app, { username: name, password: user.password });
    return tokens[name];
  }

  async function get<T>(
    name: string,
    path: string,
  ): Promise<{ status: number; body: T; contentType: string }> {
    const response = await kit.app.inject({
      method: 'GET',
      url: path,
      headers: { authorization: `Bearer ${await token(name)}` },
    });
    return {
      status: response.statusCode,
      body: response.json<T>(),
      contentType: String(response.headers['content-type']),
    };
  }

  const tab = (what: 'users' | 'peers') => `/api/${what}?current=1&pageSize=100&accessible=&status=1`;

  async function userNames(name: string): Promise<string[]> {
    const { status, body } = await get<Paged<UserItem>>(name, tab('users'));
    expect(status).toBe(200);
    expect(body.total).toBe(body.data.length);
    return body.data.map((user) => user.name);
  }

  async function peerIds(name: string): Promise<string[]> {
    const { status, body } = await get<Paged<PeerItem>>(name, tab('peers'));
    expect(status).toBe(200);
    expect(body.total).toBe(body.data.length);
    return body.data.map((peer) => peer.id);
  }

  async function groupNames(name: string): Promise<string[]> {
    const { status, body } = await get<Paged<{ name: string }>>(
      name,
      '/api/device-group/accessible?current=1&pageSize=100',
    );
    expect(status).toBe(200);
    expect(body.total).toBe(body.data.length);
    return body.data.map((group) => group.name);
  }

  beforeAll(async () => {
    kit = await openDeviceTestKit('client-groups');
    const { prisma } = kit;
    // Red may see Green's members and the Lab device group; Blue and Green have no rules.
    const [rita, ron, bea, gus, gina] = await Promise.all(
      ['rita', 'ron', 'bea', 'gus', 'gina'].map((name) => person(name)),
    );
    await person('boss', 'admin');
    await person('loner');
    if (!rita || !ron || !bea || !gus || !gina) throw new Error('users');
    const red = await prisma.userGroup.create({ data: { name: 'Red' } });
    const blue = await prisma.userGroup.create({ data: { name: 'Blue' } });
    const green = await prisma.userGroup.create({ data: { name: 'Green' } });
    await prisma.userGroupMember.createMany({
      data: [
        { userGroupId: red.id, userId: rita.user.id },
        { userGroupId: red.id, userId: ron.user.id },
        { userGroupId: blue.id, userId: bea.user.id },
        { userGroupId: green.id, userId: gus.user.id },
        { userGroupId: green.id, userId: gina.user.id },
      ],
    });
    const lab = await prisma.deviceGroup.create({ data: { name: 'Lab' } });
    const office = await prisma.deviceGroup.create({ data: { name: 'Office' } });
    await prisma.userGroupUserGroupAccess.create({
      data: { userGroupId: red.id, targetUserGroupId: green.id },
    });
    await prisma.userGroupDeviceGroupAccess.create({ data: { userGroupId: red.id, deviceGroupId: lab.id } });
    await prisma.user.update({ where: { id: gina.user.id }, data: { disabled: true } });
    await prisma.device.createMany({
      data: [
        {
          rustdeskId: 'rita0001',
          hostname: 'rita-pc',
          os: 'Windows / 11',
          osUsername: 'rita',
          ownerId: rita.user.id,
          note: 'desk',
        },
        { rustdeskId: 'ron00001', ownerId: ron.user.id },
        { rustdeskId: 'bea00001', ownerId: bea.user.id },
        { rustdeskId: 'gus00001', ownerId: gus.user.id, os: 'linux / Ubuntu 24.04' },
        { rustdeskId: 'gina0001', ownerId: gina.user.id },
        { rustdeskId: 'lab00001', groupId: lab.id },
        { rustdeskId: 'lab00002', groupId: lab.id, ownerId: bea.user.id },
        { rustdeskId: 'office01', groupId: office.id },
        { rustdeskId: 'gusdel01', ownerId: gus.user.id, deletedAt: new Date() },
        { rustdeskId: 'gusrej01', ownerId: gus.user.id, admission: 'rejected' },
        { rustdeskId: 'gusban01', ownerId: gus.user.id, banned: true },
        { rustdeskId: 'guspen01', ownerId: gus.user.id, admission: 'pending' },
        { rustdeskId: 'labdel01', groupId: lab.id, deletedAt: new Date() },
      ],
    });
  });

  afterAll(async () => {
    await kit?.close();
  });

  it('an admin sees every enabled user and every usable device and device group', async () => {
    const names = await userNames('boss');
    expect(names).toEqual(expect.arrayContaining(['bea', 'boss', 'gus', 'loner', 'rita', 'ron']));
    expect(names).not.toContain('gina');
    expect(names).toEqual([...names].sort());
    expect(await peerIds('boss')).toEqual([
      'bea00001',
      'gus00001',
      'lab00001',
      'lab00002',
      'office01',
      'rita0001',
      'ron00001',
    ]);
    expect(await groupNames('boss')).toEqual(['Lab', 'Office']);
  });

  it('a member of a group with rules sees their group, the granted group and device group, and nothing else', async () => {
    // gina is in the granted group but disabled: neither she nor her device appears.
    expect(await userNames('rita')).toEqual(['gus', 'rita', 'ron']);
    expect(await peerIds('rita')).toEqual(['gus00001', 'lab00001', 'lab00002', 'rita0001', 'ron00001']);
    expect(await groupNames('rita')).toEqual(['Lab']);
  });

  it('rules are one-way: the granted group sees only itself', async () => {
    expect(await userNames('gus')).toEqual(['gus']);
    expect(await peerIds('gus')).toEqual(['gus00001']);
    expect(await groupNames('gus')).toEqual([]);
  });

  it('a user of a group without rules sees their own devices, wherever they are filed', async () => {
    expect(await userNames('bea')).toEqual(['bea']);
    expect(await peerIds('bea')).toEqual(['bea00001', 'lab00002']);
  });

  it('a user in no group gets a list with themself, never "Admin required!"', async () => {
    const { status, body } = await get<Paged<UserItem>>('loner', tab('users'));
    expect(status).toBe(200);
    expect(body).toEqual({
      total: 1,
      data: [{ name: 'loner', display_name: null, email: null, note: null, status: 1, is_admin: false }],
    });
    expect(await peerIds('loner')).toEqual([]);
  });

  it('answers the shapes group_model.dart parses, every peer filed under a listed user or device group', async () => {
    const peers = await get<Paged<PeerItem>>('rita', tab('peers'));
    expect(peers.contentType).toMatch(/^application\/json/);
    const ritaPc = peers.body.data.find((peer) => peer.id === 'rita0001');
    expect(ritaPc).toEqual({
      id: 'rita0001',
      info: { device_name: 'rita-pc', os: 'Windows / 11', username: 'rita' },
      status: 1,
      user: users['rita']?.user.id,
      user_name: 'rita',
      device_group_name: null,
      note: 'desk',
    });
    expect(peers.body.data.find((peer) => peer.id === 'gus00001')?.info.os).toBe('linux / Ubuntu 24.04');
    expect(peers.body.data.find((peer) => peer.id === 'lab00001')).toMatchObject({
      user: null,
      user_name: null,
      device_group_name: 'Lab',
    });
    // Every peer can be found in the tab: under a listed user (user_name is that user's name) or
    // under a listed device group. lab00002 is bea's, whom rita cannot see: it shows under Lab only.
    const listedUsers = new Set(await userNames('rita'));
    const listedGroups = new Set(await groupNames('rita'));
    for (const peer of peers.body.data) {
      const underUser = peer.user_name !== null && listedUsers.has(peer.user_name);
      const underGroup = peer.device_group_name !== null && listedGroups.has(peer.device_group_name);
      expect({ id: peer.id, found: underUser || underGroup }).toEqual({ id: peer.id, found: true });
      expect(typeof peer.status).toBe('number');
    }
    expect(peers.body.data.find((peer) => peer.id === 'lab00002')).toMatchObject({
      user_name: 'bea',
      device_group_name: 'Lab',
    });

    // Private fields: a non-admin sees their own email and note, not a colleague's.
    await kit.prisma.user.update({
      where: { id: users['ron']?.user.id },
      data: { email: 'ron@example.com', note: 'x' },
    });
    const seen = await get<Paged<UserItem>>('rita', tab('users'));
    const ron = seen.body.data.find((user) => user.name === 'ron');
    expect(ron).toEqual({ name: 'ron', display_name: null, status: 1, is_admin: false });
    expect(seen.body.data.find((user) => user.name === 'rita')).toHaveProperty('email', null);
    const byAdmin = await get<Paged<UserItem>>('boss', tab('users'));
    expect(byAdmin.body.data.find((user) => user.name === 'ron')).toMatchObject({
      email: 'ron@example.com',
      note: 'x',
    });
    expect(byAdmin.body.data.find((user) => user.name === 'boss')).toMatchObject({
      is_admin: true,
      status: 1,
    });
  });

  it('refuses a missing or bad token with 401 {error}', async () => {
    for (const headers of [{}, { authorization: 'Bearer nonsense' }]) {
      for (const path of [tab('users'), tab('peers'), '/api/device-group/accessible']) {
        const response = await kit.app.inject({ method: 'GET', url: path, headers });
        expect(response.statusCode).toBe(401);
        expect(response.json()).toEqual({ error: expect.any(String) });
      }
    }
  });

  describe('paging', () => {
    beforeAll(async () => {
      const { prisma } = kit;
      const viewer = await person('fleet-viewer');
      const fleet = await prisma.userGroup.create({ data: { name: 'Fleet' } });
      await prisma.userGroupMember.create({ data: { userGroupId: fleet.id, userId: viewer.user.id } });
      const big = await prisma.deviceGroup.create({ data: { name: 'Big' } });
      await prisma.userGroupDeviceGroupAccess.create({
        data: { userGroupId: fleet.id, deviceGroupId: big.id },
      });
      await prisma.device.createMany({
        data: Array.from({ length: 250 }, (_, i) => ({
          rustdeskId: `fleet${String(i).padStart(3, '0')}`,
          groupId: big.id,
        })),
      });
    });

    async function page(query: string): Promise<Paged<PeerItem>> {
      const { status, body } = await get<Paged<PeerItem>>('fleet-viewer', `/api/peers?${query}`);
      expect(status).toBe(200);
      return body;
    }

    it('pages a 250-device fleet in three pages of 100: every page carries the total, no duplicates or gaps', async () => {
      const pages = [];
      let current = 0;
      let total = 0;
      do {
        current += 1;
        const body = await page(`current=${current}&pageSize=100&accessible=&status=1`);
        if (current === 1) total = body.total;
        expect(body.total).toBe(250);
        pages.push(body.data.map((peer) => peer.id));
      } while (current * 100 < total);
      expect(pages.map((ids) => ids.length)).toEqual([100, 100, 50]);
      const all = pages.flat();
      expect(new Set(all).size).toBe(250);
      expect(all).toEqual(Array.from({ length: 250 }, (_, i) => `fleet${String(i).padStart(3, '0')}`));
      expect((await page('current=4&pageSize=100')).data).toEqual([]);
    });

    it('clamps or defaults paging values instead of refusing them (client-api/paging.ts)', async () => {
      // pageSize=0 and non-numbers take the default (100); too large is clamped to 100.
      expect((await page('current=1&pageSize=0')).data).toHaveLength(100);
      expect((await page('current=1&pageSize=100000')).data).toHaveLength(100);
      expect((await page('current=1&pageSize=abc')).data).toHaveLength(100);
      expect((await page('current=1&pageSize=7')).data).toHaveLength(7);
      // current=-1, 0 and non-numbers are page 1.
      const first = (await page('current=1&pageSize=10')).data.map((peer) => peer.id);
      for (const current of ['-1', '0', 'x', '1.5']) {
        expect((await page(`current=${current}&pageSize=10`)).data.map((peer) => peer.id)).toEqual(first);
      }
      expect((await page('current=99999999999999999999&pageSize=10')).total).toBe(250);
      // Unknown and repeated parameters are ignored, not refused.
      expect((await page('current=2&pageSize=10&sort=name&current=3')).total).toBe(250);
    });
  });
});
