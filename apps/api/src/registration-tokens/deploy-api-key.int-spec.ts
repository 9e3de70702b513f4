import { ApiKeyRepository, SettingRepository, type UserRole, UserRepository } from '@switchboard/data-access';
import { REGISTRATION_POLICY_KEY } from '@switchboard/domain';

import {
  auditEntries,
  type DeviceTestKit,
  JSON_HEADERS,
  openDeviceTestKit,
} from '../../test/device-test-kit';
import { issueApiKey } from '../api-keys/api-key-secret';

const UUID_A = Buffer.from('machine-uuid-a').toString('base64');
const UUID_B = Buffer.from('machine-uuid-b').toString('base64');
const PK = Buffer.alloc(32, 7).toString('base64');

// `rustdesk --deploy --token <API key>`: the client sends `Authorization: Bearer <token>` and reads
// `result` (src/ui_interface.rs deploy_device): OK, NOT_ENABLED, INVALID_INPUT, ID_TAKEN.
describe('POST /api/devices/deploy with an API key', () => {
  let kit: DeviceTestKit;
  let users = 0;

  beforeAll(async () => {
    kit = await openDeviceTestKit('deploy-key');
  });
  afterAll(async () => {
    await kit?.close();
  });
  beforeEach(async () => {
    await kit.prisma.$executeRaw`TRUNCATE devices CASCADE`;
    await new SettingRepository(kit.prisma).remove(REGISTRATION_POLICY_KEY);
    kit.events.clear();
  });

  async function apiKey(role: UserRole): Promise<{ key: string; id: string; prefix: string }> {
    users += 1;
    const owner = await kit.app.get(UserRepository).create({
      username: `deployer-${role}-${users}`,
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$unused$unused',
      role,
    });
    const issued = issueApiKey();
    const record = await kit.app.get(ApiKeyRepository).create({
      name: 'deploy',
      prefix: issued.prefix,
      keyHash: issued.hash,
      role,
      ownerId: owner.id,
      expiresAt: null,
    });
    return { key: issued.key, id: record.id, prefix: issued.prefix };
  }

  function deploy(authorization: string | undefined, body: unknown) {
    return kit.app.inject({
      method: 'POST',
      url: '/api/devices/deploy',
      headers: { ...JSON_HEADERS, ...(authorization === undefined ? {} : { authorization }) },
      payload: JSON.stringify(body),
    });
  }

  it('OK: admits the device with its uuid and key, audited as the API key', async () => {
    const { key, prefix } = await apiKey('admin');
    const response = await deploy(`Bearer ${key}`, { id: '123456789', uuid: UUID_A, pk: PK });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ result: 'OK' });
    const device = await kit.prisma.device.findFirstOrThrow({ where: { rustdeskId: '123456789' } });
    expect(device.admission).toBe('admitted');
    expect(Buffer.from(device.uuid!).toString('base64')).toBe(UUID_A);
    expect(Buffer.from(device.pk!).toString('base64')).toBe(PK);
    expect(device.admittedBy).toBe(`api_key:${prefix}`);
    expect(device.registrationTokenId).toBeNull();
    const [entry] = await auditEntries(kit.prisma, 'device.deploy', '123456789');
    expect(entry).toMatchObject({ actorType: 'api_key', actorId: prefix });
    expect(entry?.details).toMatchObject({ via: 'api_key', created: true, redeploy: false });
    expect(await kit.events.waitFor(1)).toEqual([
      { type: 'DeviceApproved', payload: { deviceId: '123456789', actor: `api_key:${prefix}` } },
    ]);
    // The same machine again: still OK.
    expect((await deploy(`bearer ${key}`, { id: '123456789', uuid: UUID_A, pk: PK })).json()).toEqual({
      result: 'OK',
    });
  });

  it('ID_TAKEN when another machine holds the id, audited as a refusal', async () => {
    const { key } = await apiKey('pro');
    expect((await deploy(`Bearer ${key}`, { id: '222333444', uuid: UUID_A, pk: PK })).statusCode).toBe(200);
    const taken = await deploy(`Bearer ${key}`, { id: '222333444', uuid: UUID_B, pk: PK });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toEqual({
      result: 'ID_TAKEN',
      error: 'Id 222333444 is already used by another machine',
    });
    expect(await auditEntries(kit.prisma, 'device.deploy_refused', '222333444')).toHaveLength(1);
  });

  it('INVALID_INPUT for a malformed id, uuid or key', async () => {
    const { key } = await apiKey('admin');
    for (const body of [
      { id: 'no spaces allowed', uuid: UUID_A, pk: PK },
      { id: '123456789', uuid: '', pk: PK },
      { id: '123456789', uuid: UUID_A, pk: Buffer.alloc(31).toString('base64') },
    ]) {
      const response = await deploy(`Bearer ${key}`, body);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ result: 'INVALID_INPUT' });
    }
  });

  it('NOT_ENABLED when the registration policy is open', async () => {
    await new SettingRepository(kit.prisma).write(REGISTRATION_POLICY_KEY, 'open', null);
    const { key } = await apiKey('admin');
    const response = await deploy(`Bearer ${key}`, { id: '333444555', uuid: UUID_A, pk: PK });
    expect(response.json()).toEqual({
      result: 'NOT_ENABLED',
      error: 'The server does not require explicit deployment',
    });
    expect(await kit.prisma.device.count({ where: { rustdeskId: '333444555' } })).toBe(0);
  });

  it('refuses no key 401, a revoked or unknown key 401, a key without device.manage 403', async () => {
    const body = { id: '444555666', uuid: UUID_A, pk: PK };
    expect((await deploy(undefined, body)).statusCode).toBe(401);

    const revoked = await apiKey('admin');
    await kit.app.get(ApiKeyRepository).revoke(revoked.id, new Date());
    const refused = await deploy(`Bearer ${revoked.key}`, body);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({ error: 'API key revoked' });
    expect((await deploy(`Bearer sbk_000000000000_${'A'.repeat(43)}`, body)).statusCode).toBe(401);

    for (const role of ['operator', 'viewer'] as const) {
      const { key } = await apiKey(role);
      const forbidden = await deploy(`Bearer ${key}`, body);
      expect(forbidden.statusCode).toBe(403);
      expect(forbidden.json()).toEqual({ error: 'Missing permission device.manage' });
    }
    expect(await kit.prisma.device.count({ where: { rustdeskId: '444555666' } })).toBe(0);
  });
});
