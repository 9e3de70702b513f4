import { createHash } from 'node:crypto';

import { signInAs } from '../../test/api-test-harness';
import {
  auditEntries,
  type DeviceTestKit,
  JSON_HEADERS,
  openDeviceTestKit,
} from '../../test/device-test-kit';

const UUID_A = Buffer.from('machine-uuid-a').toString('base64');
const UUID_B = Buffer.from('machine-uuid-b').toString('base64');
const PK = Buffer.alloc(32, 7).toString('base64');

// Registration tokens (operator API) and the RustDesk client's deploy call that spends them.
describe('registration tokens and POST /api/devices/deploy', () => {
  let kit: DeviceTestKit;
  let admin: string;
  let pro: string;
  let operator: string;
  let viewer: string;

  beforeAll(async () => {
    kit = await openDeviceTestKit('tokens');
    admin = (await signInAs(kit.app, 'admin')).authorization;
    pro = (await signInAs(kit.app, 'pro')).authorization;
    operator = (await signInAs(kit.app, 'operator')).authorization;
    viewer = (await signInAs(kit.app, 'viewer')).authorization;
  });

  afterAll(async () => {
    await kit?.close();
  });

  beforeEach(async () => {
    await kit.prisma.$executeRaw`TRUNCATE devices, registration_tokens CASCADE`;
    kit.events.clear();
  });

  async function createToken(body: Record<string, unknown> = { name: 'fleet' }, authorization = admin) {
    return kit.app.inject({
      method: 'POST',
      url: '/api/v1/registration-tokens',
      headers: { authorization, ...JSON_HEADERS },
      payload: JSON.stringify(body),
    });
  }

  async function newToken(
    body: Record<string, unknown> = { name: 'fleet' },
  ): Promise<{ id: string; token: string }> {
    const response = await createToken(body);
    expect(response.statusCode).toBe(201);
    return response.json();
  }

  function deploy(token: string | undefined, body: unknown, rawBody?: string, remoteAddress?: string) {
    return kit.app.inject({
      method: 'POST',
      url: '/api/devices/deploy',
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...JSON_HEADERS },
      payload: rawBody ?? JSON.stringify(body),
      ...(remoteAddress === undefined ? {} : { remoteAddress }),
    });
  }

  describe('operator API', () => {
    it('creates a token shown once, stores only prefix and SHA-256, lists it without any secret, audits it', async () => {
      const response = await createToken({
        name: 'Berlin office',
        maxUses: 10,
        expiresAt: '2099-01-01T00:00:00Z',
      });
      expect(response.statusCode).toBe(201);
      const created = response.json<{ id: string; token: string; prefix: string }>();
      expect(created).toMatchObject({
        name: 'Berlin office',
        status: 'active',
        maxUses: 10,
        useCount: 0,
        expiresAt: '2099-01-01T00:00:00.000Z',
      });
      expect(created.token).toMatch(/^sbr_[0-9a-f]{12}_[0-9a-f]{64}$/);
      expect(created.token.split('_')[1]).toBe(created.prefix);

      const row = await kit.prisma.registrationToken.findUniqueOrThrow({ where: { id: created.id } });
      expect(Buffer.from(row.tokenHash)).toEqual(createHash('sha256').update(created.token).digest());

      const list = await kit.app.inject({
        method: 'GET',
        url: '/api/v1/registration-tokens',
        headers: { authorization: admin },
      });
      expect(list.statusCode).toBe(200);
      expect(list.json()).toEqual([expect.objectContaining({ id: created.id, prefix: created.prefix })]);
      expect(list.body).not.toContain(created.token.split('_')[2]);
      expect(list.body).not.toMatch(/hash/i);
      const [entry] = await auditEntries(kit.prisma, 'registration_token.create', created.id);
      expect(entry?.details).toMatchObject({ name: 'Berlin office', prefix: created.prefix, maxUses: 10 });
      expect(JSON.stringify(entry?.details)).not.toContain(created.token);
    });

    it('validates: 400 for missing or oversized names, past expiry, bad maxUses, unknown fields', async () => {
      for (const body of [
        {},
        { name: '' },
        { name: 'x'.repeat(129) },
        { name: 'a', expiresAt: '2001-01-01T00:00:00Z' },
        { name: 'a', expiresAt: 'tomorrow' },
        { name: 'a', maxUses: 0 },
        { name: 'a', maxUses: 1.5 },
        { name: 'a', maxUses: '5' },
        { name: 'a', secret: 'mine' },
      ]) {
        expect((await createToken(body)).statusCode).toBe(400);
      }
      expect(await kit.prisma.registrationToken.count()).toBe(0);
    });

    it('is registration_token.manage: admin and pro yes, operator and viewer 403, nobody 401', async () => {
      expect((await createToken({ name: 'a' }, pro)).statusCode).toBe(201);
      expect((await createToken({ name: 'a' }, operator)).statusCode).toBe(403);
      expect((await createToken({ name: 'a' }, viewer)).statusCode).toBe(403);
      const list = (authorization?: string) =>
        kit.app.inject({
          method: 'GET',
          url: '/api/v1/registration-tokens',
          headers: authorization ? { authorization } : {},
        });
      expect((await list(viewer)).statusCode).toBe(403);
      expect((await list()).statusCode).toBe(401);
    });

    it('revokes: 204, then 409 again, 404 unknown, 400 malformed id; a revoked token no longer deploys', async () => {
      const { id, token } = await newToken();
      const revoke = (tokenId: string) =>
        kit.app.inject({
          method: 'DELETE',
          url: `/api/v1/registration-tokens/${tokenId}`,
          headers: { authorization: admin },
        });
      expect((await revoke(id)).statusCode).toBe(204);
      expect((await revoke(id)).statusCode).toBe(409);
      expect((await revoke('00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
      expect((await revoke('not-a-uuid')).statusCode).toBe(400);
      const refused = await deploy(token, { id: '123456789', uuid: UUID_A, pk: PK });
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toEqual({ error: 'Registration token revoked' });
      expect(await kit.prisma.device.count()).toBe(0);
    });
  });

  describe('deploy', () => {
    it('admits the device with its uuid, key and token, audits it and publishes DeviceApproved', async () => {
      const { id, token } = await newToken({ name: 'fleet', maxUses: 2 });
      const response = await deploy(token, { id: '123456789', uuid: UUID_A, pk: PK });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ result: 'OK' });

      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: '123456789' } });
      const prefix = token.split('_')[1];
      expect(row).toMatchObject({
        admission: 'admitted',
        registrationTokenId: id,
        admittedBy: `registration_token:${prefix}`,
        banned: false,
        deletedAt: null,
      });
      expect(Buffer.from(row.uuid ?? [])).toEqual(Buffer.from('machine-uuid-a'));
      expect(Buffer.from(row.pk ?? [])).toEqual(Buffer.alloc(32, 7));
      expect((await kit.prisma.registrationToken.findUniqueOrThrow({ where: { id } })).useCount).toBe(1);
      const [event] = await kit.events.waitFor(1);
      expect(event).toEqual({
        type: 'DeviceApproved',
        payload: { deviceId: '123456789', actor: `registration_token:${prefix}` },
      });
      const [entry] = await auditEntries(kit.prisma, 'device.deploy', '123456789');
      expect(entry).toMatchObject({
        actorType: 'reg_token',
        actorId: prefix,
        details: { created: true, tokenId: id },
      });

      // The same machine deploying again with the same token is not another use.
      expect((await deploy(token, { id: '123456789', uuid: UUID_A, pk: PK })).statusCode).toBe(200);
      expect((await kit.prisma.registrationToken.findUniqueOrThrow({ where: { id } })).useCount).toBe(1);
    });

    it('admits a device signal already recorded as pending, keeping its other fields', async () => {
      await kit.prisma.device.create({
        data: {
          rustdeskId: 'pending01',
          admission: 'pending',
          hostname: 'kiosk',
          uuid: Buffer.from('machine-uuid-a'),
        },
      });
      const { token } = await newToken();
      expect((await deploy(token, { id: 'pending01', uuid: UUID_A, pk: PK })).json()).toEqual({
        result: 'OK',
      });
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: 'pending01' } });
      expect(row).toMatchObject({ admission: 'admitted', hostname: 'kiosk' });
    });

    it('answers ID_TAKEN (409) when another machine (uuid) holds the id, and leaves it alone', async () => {
      await kit.prisma.device.create({
        data: { rustdeskId: '222333444', uuid: Buffer.from('machine-uuid-a') },
      });
      const { id, token } = await newToken();
      const response = await deploy(token, { id: '222333444', uuid: UUID_B, pk: PK });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toEqual({
        result: 'ID_TAKEN',
        error: 'Id 222333444 is already used by another machine',
      });
      const row = await kit.prisma.device.findUniqueOrThrow({ where: { rustdeskId: '222333444' } });
      expect(Buffer.from(row.uuid ?? [])).toEqual(Buffer.from('machine-uuid-a'));
      expect((await kit.prisma.registrationToken.findUniqueOrThrow({ where: { id } })).useCount).toBe(0);
    });

    it('never admits a banned, revoked or deleted id, and audits the refusal', async () => {
      await kit.prisma.device.createMany({
        data: [
          { rustdeskId: 'banned01', banned: true, banReason: 'r', admission: 'pending' },
          { rustdeskId: 'deleted01', deletedAt: new Date() },
          { rustdeskId: 'revoked01', revokedAt: new Date(), deletedAt: new Date(), banned: true },
        ],
      });
      const { id, token } = await newToken();
      for (const [deviceId, state] of [
        ['banned01', 'banned'],
        ['deleted01', 'deleted'],
        ['revoked01', 'revoked'],
      ] as const) {
        const response = await deploy(token, { id: deviceId, uuid: UUID_A, pk: PK });
        expect(response.statusCode).toBe(403);
        expect(response.json()).toEqual({ error: `Device ${deviceId} is ${state} and cannot be deployed` });
        const refusals = await auditEntries(kit.prisma, 'device.deploy_refused', deviceId);
        expect(refusals).toHaveLength(1);
      }
      const rows = await kit.prisma.device.findMany({ orderBy: { rustdeskId: 'asc' } });
      expect(rows.map((row) => [row.rustdeskId, row.admission, row.registrationTokenId])).toEqual([
        ['banned01', 'pending', null],
        ['deleted01', 'admitted', null],
        ['revoked01', 'admitted', null],
      ]);
      expect((await kit.prisma.registrationToken.findUniqueOrThrow({ where: { id } })).useCount).toBe(0);
      const deploys = await auditEntries(kit.prisma, 'device.deploy');
      expect(deploys.filter((entry) => entry.actorId === token.split('_')[1])).toHaveLength(0);
    });

    it('refuses missing, malformed, unknown and wrong-secret tokens with 401 {error}, creating nothing', async () => {
      const { token } = await newToken();
      const body = { id: '555666777', uuid: UUID_A, pk: PK };
      const wrongSecret = `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`;
      const unknownPrefix = `sbr_000000000000_${token.split('_')[2]}`;
      for (const presented of [undefined, 'garbage', wrongSecret, unknownPrefix]) {
        const response = await deploy(presented, body);
        expect(response.statusCode).toBe(401);
        expect(Object.keys(response.json())).toEqual(['error']);
      }
      expect(await kit.prisma.device.count()).toBe(0);
      expect(await auditEntries(kit.prisma, 'device.deploy_refused', '555666777')).toHaveLength(3);
    });

    it('refuses expired and used-up tokens (403)', async () => {
      const { id, token } = await newToken({ name: 'one', maxUses: 1 });
      expect((await deploy(token, { id: '100000001', uuid: UUID_A, pk: PK })).statusCode).toBe(200);
      const usedUp = await deploy(token, { id: '100000002', uuid: UUID_B, pk: PK });
      expect(usedUp.statusCode).toBe(403);
      expect(usedUp.json()).toEqual({ error: 'Registration token has no uses left' });

      await kit.prisma.registrationToken.update({
        where: { id },
        data: { maxUses: 5, expiresAt: new Date(Date.now() - 1000) },
      });
      const expired = await deploy(token, { id: '100000003', uuid: UUID_B, pk: PK });
      expect(expired.statusCode).toBe(403);
      expect(expired.json()).toEqual({ error: 'Registration token expired' });
      expect(await kit.prisma.device.count()).toBe(1);
      const list = await kit.app.inject({
        method: 'GET',
        url: '/api/v1/registration-tokens',
        headers: { authorization: admin },
      });
      expect(list.json()[0]).toMatchObject({ status: 'expired', useCount: 1 });
    });

    it('answers INVALID_INPUT (400) for bad ids, uuids and keys, wrong types and malformed JSON', async () => {
      const { token } = await newToken();
      for (const body of [
        { uuid: UUID_A, pk: PK },
        { id: 'bad id!', uuid: UUID_A, pk: PK },
        { id: 'x'.repeat(33), uuid: UUID_A, pk: PK },
        { id: '123456789', uuid: 'not base64!', pk: PK },
        { id: '123456789', uuid: Buffer.alloc(300).toString('base64'), pk: PK },
        { id: '123456789', uuid: UUID_A, pk: Buffer.alloc(31).toString('base64') },
        { id: 123456789, uuid: UUID_A, pk: PK },
      ]) {
        const response = await deploy(token, body);
        expect(response.statusCode).toBe(400);
        expect(response.json()).toEqual({ result: 'INVALID_INPUT', error: expect.any(String) });
      }
      // A body that never parses is invalid input too: the CLI exits 5, not with an unknown answer.
      const malformed = await deploy(token, undefined, '{"id": "1234');
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toEqual({ result: 'INVALID_INPUT', error: expect.any(String) });
      expect(await kit.prisma.device.count()).toBe(0);
    });

    it('answers 429 with Retry-After to an IP after 20 unknown tokens, audits the lock once, other IPs unaffected', async () => {
      const { token } = await newToken();
      const guess = `sbr_000000000000_${token.split('_')[2]}`;
      const body = { id: '700700700', uuid: UUID_A, pk: PK };
      const guesser = '198.51.100.7';
      for (let attempt = 1; attempt <= 20; attempt += 1) {
        expect((await deploy(guess, body, undefined, guesser)).statusCode).toBe(401);
      }
      const locked = await deploy(token, body, undefined, guesser);
      expect(locked.statusCode).toBe(429);
      const retryAfter = Number(locked.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
      expect(Object.keys(locked.json())).toEqual(['error']);
      // Locked out before the lookup: no device, no further refusal entries.
      expect(await kit.prisma.device.count()).toBe(0);
      expect(await auditEntries(kit.prisma, 'device.deploy_refused', '700700700')).toHaveLength(20);
      const [throttled, ...more] = await auditEntries(kit.prisma, 'device.deploy_throttled');
      expect(more).toHaveLength(0);
      expect(throttled).toMatchObject({ ip: guesser, details: expect.objectContaining({ failures: 20 }) });
      // The lock is per IP: the same token from another address deploys as usual.
      expect((await deploy(token, body, undefined, '198.51.100.8')).statusCode).toBe(200);
    });

    it('counts an IPv6 guesser by its /64: fresh addresses of the same network stay throttled', async () => {
      const { token } = await newToken();
      const guess = `sbr_000000000000_${token.split('_')[2]}`;
      const body = { id: '700700701', uuid: UUID_A, pk: PK };
      for (let attempt = 1; attempt <= 20; attempt += 1) {
        const address = `2001:db8:7:7::${attempt.toString(16)}`;
        expect((await deploy(guess, body, undefined, address)).statusCode).toBe(401);
      }
      expect((await deploy(token, body, undefined, '2001:db8:7:7:ffff::1')).statusCode).toBe(429);
      expect((await deploy(token, body, undefined, '2001:db8:7:8::1')).statusCode).toBe(200);
    });

    it('holds maxUses under 20 concurrent deploys of different devices', async () => {
      const { id, token } = await newToken({ name: 'burst', maxUses: 5 });
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          deploy(token, {
            id: String(700_000_000 + index),
            uuid: Buffer.from(`machine-${index}`).toString('base64'),
            pk: PK,
          }),
        ),
      );
      const statuses = responses.map((response) => response.statusCode).sort();
      expect(statuses.filter((status) => status === 200)).toHaveLength(5);
      expect(statuses.filter((status) => status === 403)).toHaveLength(15);
      expect((await kit.prisma.registrationToken.findUniqueOrThrow({ where: { id } })).useCount).toBe(5);
      expect(await kit.prisma.device.count({ where: { admission: 'admitted' } })).toBe(5);
      // Refused deploys leave no placeholder rows behind.
      expect(await kit.prisma.device.count()).toBe(5);
      const deploys = await auditEntries(kit.prisma, 'device.deploy');
      expect(deploys.filter((entry) => entry.actorId === token.split('_')[1])).toHaveLength(5);
    });
  });
});
