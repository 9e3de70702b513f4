import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  NotFoundException,
} from '@nestjs/common';
import { parseConfig } from '@switchboard/config';
import { ApiKeyPrefixTakenError, type UserRole } from '@switchboard/data-access';

import {
  FakeApiKeyRepository,
  FakeChangeRunner,
  fakeRepositories,
  ScriptedRandom,
} from '../../test/fake-repositories';
import { ManualClock } from '../../test/manual-clock';
import { type Principal, type RequestOrigin } from '../auth/principal';
import { apiConfigSchema } from '../config';
import { ApiKeysService } from './api-keys.service';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY_MS = 86_400_000;
const CAP = 3;
const TTL_DAYS = 30;
const origin: RequestOrigin = { ip: '192.0.2.30', userAgent: 'unit-test' };

function person(role: UserRole, userId = `u-${role}`): Principal {
  return {
    userId,
    username: role,
    role,
    channel: 'api',
    credential: 'access_token',
    passwordMustChange: false,
  };
}

describe('ApiKeysService rules', () => {
  let keys: FakeApiKeyRepository;
  let changes: FakeChangeRunner;
  let clock: ManualClock;
  let random: ScriptedRandom;
  let service: ApiKeysService;

  beforeEach(() => {
    keys = new FakeApiKeyRepository();
    changes = new FakeChangeRunner(fakeRepositories({ apiKeys: keys }));
    clock = new ManualClock(NOW);
    random = new ScriptedRandom();
    const config = parseConfig(apiConfigSchema, {
      API_KEY_MAX_PER_USER: String(CAP),
      API_KEY_DEFAULT_TTL_DAYS: String(TTL_DAYS),
    });
    service = new ApiKeysService(keys, changes, config, clock, random);
  });

  describe('role ceiling', () => {
    it.each<[UserRole, UserRole]>([
      ['operator', 'admin'],
      ['viewer', 'operator'],
      ['operator', 'pro'],
      ['pro', 'operator'],
    ])('a %s cannot create a key with the %s role', async (own, asked) => {
      await expect(service.create({ name: 'k', role: asked }, person(own), origin)).rejects.toThrow(
        new ForbiddenException(`A ${own} cannot create a key with the ${asked} role`),
      );
      expect(keys.rows).toEqual([]);
      expect(changes.audit).toEqual([]);
    });

    it.each<[UserRole, UserRole]>([
      ['admin', 'pro'],
      ['admin', 'viewer'],
      ['operator', 'viewer'],
    ])('a %s may create a key with the lower %s role', async (own, asked) => {
      const created = await service.create({ name: 'k', role: asked }, person(own), origin);
      expect(created.apiKey.role).toBe(asked);
    });

    it('without a role, the key gets the creator’s', async () => {
      const created = await service.create({ name: 'k' }, person('viewer'), origin);
      expect(created.apiKey.role).toBe('viewer');
    });
  });

  it('is refused to a caller authenticated with an API key, so a leaked key cannot mint more', async () => {
    const viaKey: Principal = {
      ...person('admin'),
      credential: 'api_key',
      apiKeyId: 'k1',
      apiKeyPrefix: 'abc',
    };

    await expect(service.create({ name: 'k' }, viaKey, origin)).rejects.toThrow(ForbiddenException);
    expect(keys.rows).toEqual([]);
    expect(changes.audit).toEqual([]);
  });

  describe('expiry', () => {
    it(`defaults to API_KEY_DEFAULT_TTL_DAYS after the clock’s now`, async () => {
      const created = await service.create({ name: 'k' }, person('operator'), origin);

      const expected = new Date(NOW.getTime() + TTL_DAYS * DAY_MS);
      expect(keys.rows[0]?.expiresAt).toEqual(expected);
      expect(created.apiKey).toMatchObject({ status: 'active', expiresAt: expected.toISOString() });
      expect(changes.audit).toEqual([
        expect.objectContaining({
          action: 'api_key.created',
          details: expect.objectContaining({ expiresAt: expected.toISOString() }) as unknown,
        }),
      ]);
    });

    it('takes a given date, which must lie after the clock’s now', async () => {
      await expect(
        service.create({ name: 'k', expiresAt: NOW.toISOString() }, person('operator'), origin),
      ).rejects.toThrow(new BadRequestException(['expiresAt: must be in the future']));

      clock.advanceSeconds(-1);
      await service.create({ name: 'k', expiresAt: NOW.toISOString() }, person('operator'), origin);
      expect(keys.rows[0]?.expiresAt).toEqual(NOW);
    });
  });

  describe(`the cap of live keys per user`, () => {
    it('refuses one more key once the user holds the cap', async () => {
      for (let index = 0; index < CAP; index++) keys.add('u-operator');

      await expect(service.create({ name: 'k' }, person('operator'), origin)).rejects.toThrow(
        new ConflictException(`At most ${CAP} live API keys per user: revoke one first`),
      );
      expect(keys.rows).toHaveLength(CAP);
      expect(changes.audit).toEqual([]);
    });

    it('counts neither revoked nor expired keys, nor other users’ keys', async () => {
      keys.add('u-operator', { revokedAt: new Date('2026-02-01T00:00:00Z') });
      keys.add('u-operator', { expiresAt: NOW });
      keys.add('u-operator');
      keys.add('u-someone-else');
      keys.add('u-someone-else');

      await service.create({ name: 'k' }, person('operator'), origin);
      expect(keys.rows.filter((key) => key.ownerId === 'u-operator')).toHaveLength(4);
    });

    it('counts a key that expires later as live until the clock passes its expiry', async () => {
      for (let index = 0; index < CAP; index++) {
        keys.add('u-operator', { expiresAt: new Date(NOW.getTime() + DAY_MS) });
      }
      await expect(service.create({ name: 'k' }, person('operator'), origin)).rejects.toThrow(
        ConflictException,
      );

      clock.advance(DAY_MS);
      await expect(service.create({ name: 'k' }, person('operator'), origin)).resolves.toBeDefined();
    });
  });

  it('draws the key from the injected randomness, and again on a prefix collision', async () => {
    keys.add('u-other', { prefix: 'aaaaaaaaaaaa' });
    // The first draw gives prefix a…a (taken); the second b…b.
    random = new ScriptedRandom([...Array<number>(12).fill(0), ...Array<number>(12).fill(1)]);
    const config = parseConfig(apiConfigSchema, {});
    service = new ApiKeysService(keys, changes, config, clock, random);

    const created = await service.create({ name: 'k' }, person('operator'), origin);

    expect(created.key).toBe(`sbk_bbbbbbbbbbbb_${Buffer.alloc(32, 0x5a).toString('base64url')}`);
    expect(created.apiKey.prefix).toBe('bbbbbbbbbbbb');
    expect(keys.rows.at(-1)?.prefix).toBe('bbbbbbbbbbbb');
  });

  it('gives up after three collisions in a row', async () => {
    keys.add('u-other', { prefix: 'aaaaaaaaaaaa' });

    await expect(service.create({ name: 'k' }, person('operator'), origin)).rejects.toThrow(
      ApiKeyPrefixTakenError,
    );
  });

  describe('revoke', () => {
    it('hides someone else’s key behind a 404 from a caller without api_key.manage_all', async () => {
      const theirs = keys.add('u-someone-else');

      await expect(service.revoke(theirs.id, person('operator'), origin)).rejects.toThrow(NotFoundException);
      expect(theirs.revokedAt).toBeNull();
      expect(changes.audit).toEqual([]);
    });

    it('revokes one’s own key at the clock’s time; a second revoke succeeds and records nothing', async () => {
      const mine = keys.add('u-operator');

      await service.revoke(mine.id, person('operator'), origin);
      await service.revoke(mine.id, person('operator'), origin);

      expect(mine.revokedAt).toEqual(NOW);
      expect(changes.actions()).toEqual(['api_key.revoked']);
    });
  });
});
