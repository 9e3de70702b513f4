import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type PrismaClient } from '@switchboard/data-access';

import { auditEntries, JSON_HEADERS, openKitParts, startKitApp } from '../../test/device-test-kit';
import { signInAs, type SignedInUser } from '../../test/api-test-harness';
import { HeartbeatWriteBehind } from './heartbeat-write-behind';

// Device sync as the stock client does it (src/hbbs_http/sync.rs), on a real app, Postgres and Redis.

type Kit = Awaited<ReturnType<typeof openKitParts>>;

let sequence = 0;
interface TestDevice {
  id: string;
  uuid: string;
  rowId: string;
}

async function seedDevice(
  prisma: PrismaClient,
  overrides: Record<string, unknown> = {},
): Promise<TestDevice> {
  sequence += 1;
  const id = `5${String(process.pid).slice(-3)}${String(sequence).padStart(5, '0')}`;
  // What RegisterPk carries: the raw machine uid bytes; the JSON body carries their base64.
  const machineUid = Buffer.from(`machine-uid-${id}`);
  const row = await prisma.device.create({
    data: { rustdeskId: id, uuid: machineUid, pk: Buffer.alloc(32, 1), ...overrides },
  });
  return { id, uuid: machineUid.toString('base64'), rowId: row.id };
}

/** The body sync.rs builds for /api/sysinfo (crate::get_sysinfo plus version, id, uuid). */
function sysinfoBody(device: TestDevice, extra: Record<string, string> = {}) {
  return {
    cpu: 'Intel(R) Core(TM) i7-8565U CPU @ 1.80GHz, 1.99GHz, 8/4 cores',
    memory: '15.55GB',
    os: 'ubuntu / Linux 22.04 Ubuntu',
    hostname: 'build-box',
    username: 'alice',
    version: '1.4.9',
    id: device.id,
    uuid: device.uuid,
    ...extra,
  };
}

/** The heartbeat body: conns only when there are live connections, modified_at always. */
function heartbeatBody(device: TestDevice, modifiedAt: number | string = 0, conns?: number[]) {
  return {
    id: device.id,
    uuid: device.uuid,
    ver: 1004090,
    ...(conns === undefined ? {} : { conns }),
    modified_at: modifiedAt,
  };
}

describe('client device sync', () => {
  let kit: Kit;
  let app: NestFastifyApplication;
  let admin: SignedInUser;

  const post = (url: string, payload: unknown, headers: Record<string, string> = JSON_HEADERS) =>
    app.inject({
      method: 'POST',
      url,
      headers,
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  const heartbeat = async (device: TestDevice, modifiedAt: number | string = 0, conns?: number[]) => {
    const response = await post('/api/heartbeat', heartbeatBody(device, modifiedAt, conns));
    expect(response.statusCode).toBe(200);
    return response.json<{
      modified_at: number;
      strategy?: { config_options: Record<string, string>; extra: Record<string, string> };
      disconnect?: number[];
      sysinfo?: unknown;
    }>();
  };
  const operator = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: { authorization: admin.authorization, ...JSON_HEADERS },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
  const createStrategy = async (name: string, options: Record<string, string>) => {
    const response = await operator('POST', '/api/v1/strategies', { name, options });
    expect(response.statusCode).toBe(201);
    return response.json<{ id: string }>().id;
  };
  const flush = () => app.get(HeartbeatWriteBehind).flush();

  beforeAll(async () => {
    kit = await openKitParts('device-sync');
    app = await startKitApp(kit);
    admin = await signInAs(app, 'admin');
  });

  afterAll(async () => {
    await app?.close();
    kit.redis.disconnect();
    await kit.prisma.$disconnect();
    await kit.database.drop();
  });

  describe('POST /api/sysinfo', () => {
    it('stores the report and answers SYSINFO_UPDATED in plain text', async () => {
      const device = await seedDevice(kit.prisma);
      const response = await post('/api/sysinfo', sysinfoBody(device, { 'some-future-field': 'x' }));
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain/);
      expect(response.body).toBe('SYSINFO_UPDATED');
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: device.id } });
      expect(row).toMatchObject({
        cpu: 'Intel(R) Core(TM) i7-8565U CPU @ 1.80GHz, 1.99GHz, 8/4 cores',
        memory: '15.55GB',
        os: 'ubuntu / Linux 22.04 Ubuntu',
        hostname: 'build-box',
        osUsername: 'alice',
        version: '1.4.9',
      });
    });

    it('answers ID_NOT_FOUND for an unknown id', async () => {
      const response = await post(
        '/api/sysinfo',
        sysinfoBody({ id: '999999999', uuid: 'dXVpZA==', rowId: '' }),
      );
      expect(response.body).toBe('ID_NOT_FOUND');
      expect(response.statusCode).toBe(404);
    });

    it('refuses another machine under a registered id, and overwrites nothing', async () => {
      const device = await seedDevice(kit.prisma, { hostname: 'original' });
      const impostor = { ...device, uuid: Buffer.from('other-machine').toString('base64') };
      const response = await post('/api/sysinfo', sysinfoBody(impostor, { 'preset-note': 'taken over' }));
      // Not ID_NOT_FOUND, which the client retries every 3 s: any other text backs it off 120 s.
      expect(response.body).toBe('UUID_MISMATCH');
      expect(response.statusCode).toBe(403);
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: device.id } });
      expect(row.hostname).toBe('original');
      expect(row.note).toBeNull();
    });

    it('refuses banned and deleted devices', async () => {
      const banned = await seedDevice(kit.prisma, { banned: true });
      const deleted = await seedDevice(kit.prisma, { deletedAt: new Date() });
      expect((await post('/api/sysinfo', sysinfoBody(banned))).body).toBe('DEVICE_NOT_ALLOWED');
      expect((await post('/api/sysinfo', sysinfoBody(deleted))).body).toBe('DEVICE_NOT_ALLOWED');
      const hb = await post('/api/heartbeat', heartbeatBody(banned));
      expect(hb.statusCode).toBe(403);
      expect(hb.json()).toEqual({ error: 'DEVICE_NOT_ALLOWED' });
    });

    it('applies presets as Pro does, only while unset, and audits what changed', async () => {
      const owner = await signInAs(app, 'viewer');
      await kit.prisma.deviceGroup.create({ data: { name: 'Kiosks' } });
      await createStrategy('kiosk-preset', { 'enable-keyboard': 'N' });
      const book = await kit.prisma.addressBook.create({
        data: { ownerId: owner.user.id, kind: 'shared', name: 'Front desk', updatedAt: new Date() },
      });
      const device = await seedDevice(kit.prisma);
      const response = await post(
        '/api/sysinfo',
        sysinfoBody(device, {
          'preset-user-name': owner.user.username,
          'preset-strategy-name': 'kiosk-preset',
          'preset-device-group-name': 'Kiosks',
          'preset-note': 'lobby',
          'preset-address-book-name': 'Front desk',
          'preset-address-book-tag': 'reception',
          'preset-address-book-alias': 'Lobby PC',
        }),
      );
      expect(response.body).toBe('SYSINFO_UPDATED');
      const row = await kit.prisma.device.findUniqueOrThrow({
        where: { rustdeskId: device.id },
        include: { group: true, strategyAssignment: { include: { strategy: true } } },
      });
      expect(row.ownerId).toBe(owner.user.id);
      expect(row.group?.name).toBe('Kiosks');
      expect(row.note).toBe('lobby');
      expect(row.strategyAssignment?.strategy.name).toBe('kiosk-preset');
      const [entry] = await auditEntries(kit.prisma, 'device.assign', device.id);
      expect(entry?.actorType).toBe('device');
      expect(entry?.details).toMatchObject({
        source: 'sysinfo-preset',
        assigned: {
          userName: owner.user.username,
          strategyName: 'kiosk-preset',
          deviceGroupName: 'Kiosks',
          addressBook: 'Front desk',
        },
      });
      // The address-book preset put the device into the shared book, with its tag and alias.
      const peer = await kit.prisma.addressBookPeer.findFirstOrThrow({
        where: { addressBookId: book.id, rustdeskId: device.id },
      });
      expect(peer).toMatchObject({ alias: 'Lobby PC', tags: ['reception'] });
      expect(
        await kit.prisma.addressBookTag.count({ where: { addressBookId: book.id, name: 'reception' } }),
      ).toBe(1);

      // The operator moves it; a restart re-sends the same presets, which must not move it back.
      await kit.prisma.device.update({ where: { id: device.rowId }, data: { note: 'moved by operator' } });
      await post('/api/sysinfo', sysinfoBody(device, { hostname: 'renamed', 'preset-note': 'lobby' }));
      const after = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: device.id } });
      expect(after.note).toBe('moved by operator');
      expect(after.hostname).toBe('renamed');
    });

    it('ignores unknown preset names and stores the rest', async () => {
      const device = await seedDevice(kit.prisma);
      const response = await post(
        '/api/sysinfo',
        sysinfoBody(device, { 'preset-user-name': 'nobody-by-that-name' }),
      );
      expect(response.body).toBe('SYSINFO_UPDATED');
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: device.id } });
      expect(row.ownerId).toBeNull();
      expect(row.hostname).toBe('build-box');
      expect(await auditEntries(kit.prisma, 'device.assign', device.id)).toHaveLength(0);
    });

    it('answers bad input with {error}, never a 500', async () => {
      const malformed = await post('/api/sysinfo', '{"id": "1234', JSON_HEADERS);
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toEqual({ error: expect.any(String) });
      const wrongType = await post('/api/sysinfo', { id: 12345678, uuid: 5 });
      expect(wrongType.statusCode).toBe(400);
      expect(wrongType.json<{ error: string }>().error).toMatch(/id/);
      const oversize = await post('/api/sysinfo', { id: '12345678', uuid: 'x', cpu: 'x'.repeat(2_000_000) });
      expect(oversize.statusCode).toBe(413);
      expect(oversize.json()).toEqual({ error: expect.any(String) });
    });

    it('answers sysinfo_ver in plain text, also for the empty body the client sends', async () => {
      const response = await app.inject({ method: 'POST', url: '/api/sysinfo_ver', headers: JSON_HEADERS });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain/);
      expect(response.body).toBe('');
      const device = await seedDevice(kit.prisma);
      await post('/api/sysinfo', sysinfoBody(device));
      const ver = await post('/api/sysinfo_ver', { id: device.id, uuid: device.uuid });
      expect(ver.body).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe('POST /api/heartbeat', () => {
    it('asks for sysinfo until it is stored, and records the heartbeat after the flush', async () => {
      const device = await seedDevice(kit.prisma);
      const first = await heartbeat(device, 0, [7, -3]);
      expect(first).toEqual({ modified_at: 0, sysinfo: true });
      await flush();
      const state = await kit.prisma.deviceSyncState.findUniqueOrThrow({ where: { deviceId: device.rowId } });
      expect(state.conns).toEqual([7, -3]);
      expect(state.clientVersion).toBe(1004090n);
      expect(state.lastHeartbeatAt).not.toBeNull();
      expect(
        (await kit.prisma.device.findUniqueOrThrow({ where: { id: device.rowId } })).lastSeenAt,
      ).not.toBeNull();

      await post('/api/sysinfo', sysinfoBody(device));
      expect(await heartbeat(device)).toEqual({ modified_at: 0 });
    });

    it('answers ID_NOT_FOUND and refuses a uuid mismatch without recording it', async () => {
      const unknown = await post(
        '/api/heartbeat',
        heartbeatBody({ id: '888888888', uuid: 'dXVpZA==', rowId: '' }),
      );
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toEqual({ error: 'ID_NOT_FOUND' });

      const device = await seedDevice(kit.prisma);
      const mismatch = await post('/api/heartbeat', { ...heartbeatBody(device, 0, [1]), uuid: 'b3RoZXI=' });
      expect(mismatch.statusCode).toBe(403);
      expect(mismatch.json()).toEqual({ error: 'UUID_MISMATCH' });
      await flush();
      expect(await kit.prisma.deviceSyncState.findUnique({ where: { deviceId: device.rowId } })).toBeNull();
    });

    it('refuses bad input with {error}', async () => {
      const device = await seedDevice(kit.prisma);
      for (const body of [
        { ...heartbeatBody(device), conns: ['1'] },
        { ...heartbeatBody(device), conns: [2 ** 31] },
        { ...heartbeatBody(device), modified_at: 'soon' },
        { id: device.id },
      ]) {
        const response = await post('/api/heartbeat', body);
        expect(response.statusCode).toBe(400);
        expect(response.json()).toEqual({ error: expect.any(String) });
      }
    });

    it('pushes a strategy once, then not again with the same modified_at, and again after an edit', async () => {
      const device = await seedDevice(kit.prisma);
      await post('/api/sysinfo', sysinfoBody(device));
      const strategyId = await createStrategy('pushed-once', {
        'enable-clipboard': 'N',
        'approve-mode': 'click',
      });
      expect(
        (await operator('POST', `/api/v1/strategies/${strategyId}/assign`, { device: device.id })).statusCode,
      ).toBe(204);

      const first = await heartbeat(device, 0);
      expect(first.strategy).toEqual({
        config_options: { 'enable-clipboard': 'N', 'approve-mode': 'click' },
        extra: {},
      });
      expect(first.modified_at).toBeGreaterThan(0);
      const second = await heartbeat(device, first.modified_at);
      expect(second).toEqual({ modified_at: first.modified_at });

      await new Promise((resolve) => setTimeout(resolve, 5));
      const edit = await operator('PATCH', `/api/v1/strategies/${strategyId}`, {
        options: { 'enable-clipboard': 'Y' },
      });
      expect(edit.statusCode).toBe(200);
      const third = await heartbeat(device, first.modified_at);
      expect(third.modified_at).not.toBe(first.modified_at);
      expect(third.strategy?.config_options).toEqual({ 'enable-clipboard': 'Y' });
      expect(await auditEntries(kit.prisma, 'strategy.update', strategyId)).toHaveLength(1);
    });

    it('resolves priority device > user > device group', async () => {
      const owner = await signInAs(app, 'viewer');
      const group = await kit.prisma.deviceGroup.create({ data: { name: 'Priority group' } });
      const device = await seedDevice(kit.prisma, { ownerId: owner.user.id, groupId: group.id });
      await post('/api/sysinfo', sysinfoBody(device));
      const byGroup = await createStrategy('by-group', { 'enable-audio': 'N' });
      const byUser = await createStrategy('by-user', { 'enable-audio': 'Y' });
      const byDevice = await createStrategy('by-device', { 'enable-tunnel': 'N' });

      await operator('POST', `/api/v1/strategies/${byGroup}/assign`, { deviceGroup: 'Priority group' });
      expect((await heartbeat(device)).strategy?.config_options).toEqual({ 'enable-audio': 'N' });
      await operator('POST', `/api/v1/strategies/${byUser}/assign`, { user: owner.user.username });
      expect((await heartbeat(device)).strategy?.config_options).toEqual({ 'enable-audio': 'Y' });
      await operator('POST', `/api/v1/strategies/${byDevice}/assign`, { device: device.id });
      const deviceLevel = await heartbeat(device);
      expect(deviceLevel.strategy?.config_options).toEqual({ 'enable-tunnel': 'N' });

      const unassign = await operator('POST', `/api/v1/strategies/${byDevice}/unassign`, {
        device: device.id,
      });
      expect(unassign.statusCode).toBe(204);
      const back = await heartbeat(device, deviceLevel.modified_at);
      expect(back.strategy?.config_options).toEqual({ 'enable-audio': 'Y' });
    });

    it('delivers an operator disconnect once', async () => {
      const device = await seedDevice(kit.prisma);
      const refused = await operator('POST', `/api/v1/devices/${device.id}/disconnect`, { connId: 'x' });
      expect(refused.statusCode).toBe(400);
      const missing = await operator('POST', '/api/v1/devices/77777777/disconnect', { connId: 1 });
      expect(missing.statusCode).toBe(404);

      const ended = await operator('POST', `/api/v1/devices/${device.id}/disconnect`, { connId: 42 });
      expect(ended.statusCode).toBe(202);
      expect((await heartbeat(device, 0, [42, 43])).disconnect).toEqual([42]);
      expect((await heartbeat(device, 0, [43])).disconnect).toBeUndefined();
      const [entry] = await auditEntries(kit.prisma, 'device.disconnect', device.id);
      expect(entry?.details).toMatchObject({ connId: 42 });
    });

    it('keeps heartbeats buffered while the write fails, and writes them once it works again', async () => {
      const device = await seedDevice(kit.prisma);
      await heartbeat(device, 0, [5]);
      // A real failure of the flush statement: its table is briefly not there.
      await kit.prisma.$executeRawUnsafe('ALTER TABLE device_sync_states RENAME TO device_sync_states_away');
      try {
        await flush();
        // Heartbeats are still answered meanwhile (nothing on the request path writes).
        expect((await heartbeat(device, 0, [5, 6])).modified_at).toBe(0);
        await flush();
        expect(app.get(HeartbeatWriteBehind).buffered).toBeGreaterThan(0);
      } finally {
        await kit.prisma.$executeRawUnsafe(
          'ALTER TABLE device_sync_states_away RENAME TO device_sync_states',
        );
      }
      await flush();
      const state = await kit.prisma.deviceSyncState.findUniqueOrThrow({ where: { deviceId: device.rowId } });
      expect(state.conns).toEqual([5, 6]);
    });
    it('writes what is buffered when the app shuts down', async () => {
      const device = await seedDevice(kit.prisma);
      const second = await startKitApp(kit);
      const response = await second.inject({
        method: 'POST',
        url: '/api/heartbeat',
        headers: JSON_HEADERS,
        payload: JSON.stringify(heartbeatBody(device, 0, [99])),
      });
      expect(response.statusCode).toBe(200);
      await second.close();
      const state = await kit.prisma.deviceSyncState.findUniqueOrThrow({ where: { deviceId: device.rowId } });
      expect(state.conns).toEqual([99]);
    });
  });

  describe('strategies (operator API)', () => {
    it('refuses keys the client does not accept and non-string values', async () => {
      const unknownKey = await operator('POST', '/api/v1/strategies', {
        name: 'bad',
        options: { 'no-such-option': 'Y' },
      });
      expect(unknownKey.statusCode).toBe(400);
      expect(JSON.stringify(unknownKey.json())).toContain('no-such-option');
      const number = await operator('POST', '/api/v1/strategies', {
        name: 'bad',
        options: { 'enable-audio': 1 },
      });
      expect(number.statusCode).toBe(400);
      const duplicate = await operator('POST', '/api/v1/strategies', { name: 'dup', options: {} });
      expect(duplicate.statusCode).toBe(201);
      expect((await operator('POST', '/api/v1/strategies', { name: 'dup', options: {} })).statusCode).toBe(
        409,
      );
      const unknownTarget = await operator(
        'POST',
        `/api/v1/strategies/${duplicate.json<{ id: string }>().id}/assign`,
        {
          user: 'no-such-user',
        },
      );
      expect(unknownTarget.statusCode).toBe(400);
    });

    it('lists the option keys a strategy may set (what the console offers)', async () => {
      const response = await app.inject({
        method: 'GET',
        url: '/api/v1/strategies/option-keys',
        headers: { authorization: admin.authorization },
      });
      expect(response.statusCode).toBe(200);
      const { keys } = response.json<{ keys: string[] }>();
      expect(keys).toContain('enable-audio');
      expect(keys).not.toContain('no-such-option');
    });

    it('lets only holders of strategy.manage change strategies', async () => {
      const viewer = await signInAs(app, 'viewer');
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/strategies',
        headers: { authorization: viewer.authorization, ...JSON_HEADERS },
        payload: JSON.stringify({ name: 'nope' }),
      });
      expect(response.statusCode).toBe(403);
    });
  });

  describe('POST /api/devices/cli (rustdesk --assign)', () => {
    let apiKey: string;

    beforeAll(async () => {
      const created = await operator('POST', '/api/v1/api-keys', { name: 'assign' });
      expect(created.statusCode).toBe(201);
      apiKey = created.json<{ key: string }>().key;
    });

    const cli = (payload: unknown, key = apiKey) =>
      post('/api/devices/cli', payload, { ...JSON_HEADERS, authorization: `Bearer ${key}` });

    it('assigns with an empty body for success, audited', async () => {
      const owner = await signInAs(app, 'viewer');
      await createStrategy('cli-strategy', { 'enable-camera': 'N' });
      const device = await seedDevice(kit.prisma, { note: 'old' });
      const response = await cli({
        id: device.id,
        uuid: device.uuid,
        user_name: owner.user.username,
        strategy_name: 'cli-strategy',
        note: 'assigned by cli',
        device_name: 'front-desk',
      });
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe('');
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: device.id } });
      expect(row).toMatchObject({ ownerId: owner.user.id, note: 'assigned by cli', hostname: 'front-desk' });
      const [entry] = await auditEntries(kit.prisma, 'device.assign', device.id);
      expect(entry?.actorType).toBe('api_key');
      expect((await heartbeat(device)).strategy?.config_options).toEqual({ 'enable-camera': 'N' });
    });

    it('refuses in plain text, all or nothing', async () => {
      const device = await seedDevice(kit.prisma);
      const unknown = await cli({ id: device.id, uuid: device.uuid, note: 'kept?', user_name: 'ghost' });
      expect(unknown.statusCode).toBe(400);
      expect(unknown.headers['content-type']).toMatch(/^text\/plain/);
      expect(unknown.body).toBe('no user named ghost');
      expect((await kit.prisma.device.findUniqueOrThrow({ where: { id: device.rowId } })).note).toBeNull();

      const book = await cli({ id: device.id, uuid: device.uuid, address_book_name: 'Team' });
      expect(book.statusCode).toBe(400);
      expect(book.body).toBe('no shared address book named Team');
      const owner = await signInAs(app, 'viewer');
      const team = await kit.prisma.addressBook.create({
        data: { ownerId: owner.user.id, kind: 'shared', name: 'Team', updatedAt: new Date() },
      });
      const added = await cli({
        id: device.id,
        uuid: device.uuid,
        address_book_name: 'Team',
        address_book_note: 'rack 4',
      });
      expect(added.statusCode).toBe(200);
      expect(added.body).toBe('');
      expect(
        await kit.prisma.addressBookPeer.findFirst({
          where: { addressBookId: team.id, rustdeskId: device.id },
        }),
      ).toMatchObject({ note: 'rack 4' });

      const mismatch = await cli({ id: device.id, uuid: 'b3RoZXI=', note: 'x' });
      expect(mismatch.statusCode).toBe(403);
      expect(mismatch.body).toMatch(/another machine/);

      expect((await cli({ id: '66666666', uuid: 'eA==', note: 'x' })).body).toMatch(/not known/);
    });

    it('wants an API key with device.manage as the bearer', async () => {
      const device = await seedDevice(kit.prisma);
      const body = { id: device.id, uuid: device.uuid, note: 'x' };
      const none = await post('/api/devices/cli', body);
      expect(none.statusCode).toBe(401);
      expect(none.headers['content-type']).toMatch(/^text\/plain/);
      expect((await cli(body, 'sbk_000000000000_wrong')).statusCode).toBe(401);
      // An access token is not an API key.
      const token = await post('/api/devices/cli', body, {
        ...JSON_HEADERS,
        authorization: admin.authorization,
      });
      expect(token.statusCode).toBe(401);
      const viewerKey = await operator('POST', '/api/v1/api-keys', { name: 'read-only', role: 'viewer' });
      const refused = await cli(body, viewerKey.json<{ key: string }>().key);
      expect(refused.statusCode).toBe(403);
      expect(refused.body).toMatch(/device\.manage/);
    });
  });
});
