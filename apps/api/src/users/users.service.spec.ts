import { ConflictException, ForbiddenException } from '@nestjs/common';
import { type ManagedUser } from '@switchboard/data-access';

import {
  FakeApiKeyRepository,
  FakeChangeRunner,
  fakeRepositories,
  FakeUserAdminRepository,
  FakeUserRepository,
} from '../../test/fake-repositories';
import { ManualClock } from '../../test/manual-clock';
import { type Principal, type RequestOrigin } from '../auth/principal';
import { PasswordGenerator } from '../bootstrap/password-generator';
import { UsersService } from './users.service';

const NOW = new Date('2026-03-01T12:00:00Z');
const origin: RequestOrigin = { ip: '192.0.2.20', userAgent: 'unit-test' };
// What the generator draws, pinned: the one-time password is then known in advance.
const DRAWN = Buffer.alloc(18, 0xab);

// argon2 is slow and beside the point here; the service only passes the hash on.
const hasher = {
  hash: (password: string) => Promise.resolve(`hashed:${password}`),
  verify: () => Promise.resolve(false),
};

function principalOf(user: ManagedUser): Principal {
  return {
    userId: user.id,
    username: user.username,
    role: user.role,
    channel: 'panel',
    credential: 'session',
    passwordMustChange: false,
  };
}

describe('UsersService rules', () => {
  let userAdmin: FakeUserAdminRepository;
  let users: FakeUserRepository;
  let apiKeys: FakeApiKeyRepository;
  let changes: FakeChangeRunner;
  let service: UsersService;
  let admin: ManagedUser;

  beforeEach(() => {
    userAdmin = new FakeUserAdminRepository();
    users = new FakeUserRepository();
    apiKeys = new FakeApiKeyRepository();
    changes = new FakeChangeRunner(fakeRepositories({ userAdmin, users, apiKeys }));
    const passwords = new PasswordGenerator(() => DRAWN);
    service = new UsersService(userAdmin, changes, hasher, passwords, new ManualClock(NOW));
    admin = userAdmin.add('ada', { role: 'admin' });
  });

  describe('the last enabled admin', () => {
    it('cannot be demoted', async () => {
      await expect(
        service.update(admin.id, { role: 'operator' }, principalOf(admin), origin),
      ).rejects.toThrow(new ConflictException('The last enabled admin cannot be demoted'));
      expect((await userAdmin.findById(admin.id))?.role).toBe('admin');
      expect(changes.audit).toEqual([]);
    });

    it('cannot be disabled', async () => {
      await expect(service.disable(admin.id, principalOf(admin), origin)).rejects.toThrow(
        new ConflictException('The last enabled admin cannot be disabled'),
      );
      expect((await userAdmin.findById(admin.id))?.disabled).toBe(false);
      expect(users.loginsRevoked).toEqual([]);
      expect(changes.audit).toEqual([]);
    });

    it('cannot be deleted, and keeps its API keys', async () => {
      apiKeys.add(admin.id);

      await expect(service.delete(admin.id, principalOf(admin), origin)).rejects.toThrow(
        new ConflictException('The last enabled admin cannot be deleted'),
      );
      expect(await userAdmin.findById(admin.id)).not.toBeNull();
      expect(apiKeys.rows[0]?.revokedAt).toBeNull();
      expect(changes.audit).toEqual([]);
    });

    it('is not a disabled admin: another admin who is disabled does not count', async () => {
      userAdmin.add('bob', { role: 'admin', disabled: true });

      await expect(service.update(admin.id, { role: 'viewer' }, principalOf(admin), origin)).rejects.toThrow(
        ConflictException,
      );
    });

    it('may step down once another enabled admin exists', async () => {
      userAdmin.add('bob', { role: 'admin' });

      const view = await service.update(admin.id, { role: 'operator' }, principalOf(admin), origin);

      expect(view.role).toBe('operator');
      expect(changes.audit).toEqual([
        expect.objectContaining({
          action: 'user.role_changed',
          targetId: admin.id,
          details: { username: 'ada', from: 'admin', to: 'operator', userAgent: 'unit-test' },
        }),
      ]);
    });
  });

  it('disabling another user ends their logins, audits it and tells the data plane', async () => {
    const olga = userAdmin.add('olga');

    const view = await service.disable(olga.id, principalOf(admin), origin);

    expect(view.disabled).toBe(true);
    expect(users.loginsRevoked).toEqual([olga.id]);
    expect(changes.actions()).toEqual(['user.disabled']);
    expect(changes.events).toEqual([
      { type: 'UserSessionsRevoked', payload: { userId: olga.id, actor: `user:${admin.id}` } },
    ]);
  });

  it('disabling a disabled user changes nothing and records nothing', async () => {
    const olga = userAdmin.add('olga', { disabled: true });

    await service.disable(olga.id, principalOf(admin), origin);

    expect(users.loginsRevoked).toEqual([]);
    expect(changes.audit).toEqual([]);
    expect(changes.events).toEqual([]);
  });

  it('deleting a user revokes their API keys at the clock’s time first', async () => {
    const olga = userAdmin.add('olga');
    apiKeys.add(olga.id);
    apiKeys.add(olga.id, { revokedAt: new Date('2026-01-05T00:00:00Z') });

    await service.delete(olga.id, principalOf(admin), origin);

    expect(await userAdmin.findById(olga.id)).toBeNull();
    expect(apiKeys.rows.map((key) => key.revokedAt)).toEqual([NOW, new Date('2026-01-05T00:00:00Z')]);
    expect(changes.audit[0]).toMatchObject({ action: 'user.deleted', details: { apiKeysRevoked: 1 } });
  });

  it('a password reset generates a one-time password, stamped at the clock’s time', async () => {
    const olga = userAdmin.add('olga');

    const reset = await service.resetPassword(olga.id, {}, principalOf(admin), origin);

    expect(reset.oneTimePassword).toBe(DRAWN.toString('base64url'));
    expect(reset.user).toMatchObject({ passwordMustChange: true, passwordChangedAt: NOW.toISOString() });
    expect(users.loginsRevoked).toEqual([olga.id]);
    expect(changes.audit[0]).toMatchObject({
      action: 'user.password_reset',
      details: { passwordSource: 'generated' },
    });
  });

  it('one’s own second factor is not cleared here (it needs the password and a code)', async () => {
    await expect(service.clearSecondFactor(admin.id, principalOf(admin), origin)).rejects.toThrow(
      ForbiddenException,
    );
    expect(changes.audit).toEqual([]);
  });
});
