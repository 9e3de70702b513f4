import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';
import { parseConfig } from '@switchboard/config';

import {
  FakeChangeRunner,
  FakeDenySet,
  FakeDeviceAdminRepository,
  fakeRepositories,
} from '../../test/fake-repositories';
import { ManualClock } from '../../test/manual-clock';
import { apiConfigSchema } from '../config';
import { type Actor } from '../auth/principal';
import { DevicesService, MAX_REVOKE_CASCADE } from './devices.service';

const NOW = new Date('2026-03-01T12:00:00Z');

const operator: Actor = {
  principal: {
    userId: 'u-operator',
    username: 'olga',
    role: 'operator',
    channel: 'panel',
    credential: 'session',
    passwordMustChange: false,
  },
  origin: { ip: '192.0.2.10', userAgent: 'unit-test' },
};

describe('DevicesService rules', () => {
  let devices: FakeDeviceAdminRepository;
  let changes: FakeChangeRunner;
  let denySet: FakeDenySet;
  let clock: ManualClock;
  let service: DevicesService;

  beforeEach(() => {
    devices = new FakeDeviceAdminRepository();
    changes = new FakeChangeRunner(fakeRepositories({ devices }));
    denySet = new FakeDenySet();
    clock = new ManualClock(NOW);
    service = new DevicesService(devices, changes, denySet, parseConfig(apiConfigSchema, {}), clock);
  });

  /** Nothing was written to the audit log, announced, or pushed to the relays. */
  function expectNothingRecorded(): void {
    expect(changes.audit).toEqual([]);
    expect(changes.events).toEqual([]);
    expect(denySet.synced).toEqual([]);
  }

  describe('ban', () => {
    it('bans at the clock’s time, audits, syncs the deny set, then announces', async () => {
      devices.add('123456789');

      const view = await service.ban('123456789', 'stolen laptop', operator);

      expect(view.banned).toBe(true);
      expect(devices.find('123456789')).toMatchObject({
        banned: true,
        banReason: 'stolen laptop',
        bannedAt: NOW,
        bannedBy: 'user:u-operator',
      });
      expect(changes.audit).toEqual([
        expect.objectContaining({
          action: 'device.ban',
          actorType: 'user',
          actorId: 'u-operator',
          targetId: '123456789',
          ip: '192.0.2.10',
          details: { reason: 'stolen laptop', created: false, userAgent: 'unit-test' },
        }),
      ]);
      expect(denySet.synced).toEqual([['123456789']]);
      expect(changes.events).toEqual([
        {
          type: 'DeviceBanned',
          payload: { deviceId: '123456789', reason: 'stolen laptop', actor: 'user:u-operator' },
        },
      ]);
    });

    it('refuses an already-banned device and keeps the first ban as it was', async () => {
      const earlier = new Date('2026-02-01T08:00:00Z');
      devices.add('123456789', { banned: true, banReason: 'first', bannedAt: earlier, bannedBy: 'user:x' });

      await expect(service.ban('123456789', 'second', operator)).rejects.toThrow(
        new ConflictException('Device is already banned'),
      );

      expect(devices.find('123456789')).toMatchObject({ banReason: 'first', bannedAt: earlier });
      expectNothingRecorded();
    });

    it('bans an id never seen, as a pending row, so it is refused when it first shows up', async () => {
      await service.ban('987654321', 'known bad', operator);

      expect(devices.find('987654321')).toMatchObject({ admission: 'pending', banned: true });
      expect(changes.audit[0]?.details).toMatchObject({ created: true });
    });
  });

  describe('unban', () => {
    it('refuses a device that is not banned', async () => {
      devices.add('123456789');

      await expect(service.unban('123456789', operator)).rejects.toThrow(
        new ConflictException('Device is not banned'),
      );
      expectNothingRecorded();
    });

    it('refuses an unknown id', async () => {
      await expect(service.unban('555555555', operator)).rejects.toThrow(NotFoundException);
      expectNothingRecorded();
    });

    it('lifts a ban but says the device stays denied when it is also revoked', async () => {
      devices.add('123456789', { banned: true, revokedAt: NOW, deletedAt: NOW });

      await service.unban('123456789', operator);

      expect(devices.find('123456789')?.banned).toBe(false);
      expect(changes.audit[0]).toMatchObject({
        action: 'device.unban',
        details: { stillDenied: true },
      });
      expect(denySet.synced).toEqual([['123456789']]);
    });
  });

  describe('revoke', () => {
    it('with cascade revokes every device linked to it, transitively, each audited', async () => {
      devices.add('111111111');
      devices.add('222222222');
      devices.add('333333333');
      devices.add('444444444'); // not linked: untouched
      devices.addLink('111111111', '222222222');
      devices.addLink('222222222', '333333333'); // a clone of a clone

      await service.revoke('111111111', { cascade: true, reason: 'compromised' }, operator);

      for (const id of ['111111111', '222222222', '333333333']) {
        expect(devices.find(id)).toMatchObject({ revokedAt: NOW, deletedAt: NOW, banned: true });
      }
      expect(devices.find('444444444')).toMatchObject({ revokedAt: null, banned: false });
      expect(changes.audit.map((entry) => [entry.targetId, entry.details])).toEqual([
        ['111111111', { reason: 'compromised', cascade: ['222222222', '333333333'], userAgent: 'unit-test' }],
        ['222222222', { reason: 'compromised', cascadeFrom: '111111111', userAgent: 'unit-test' }],
        ['333333333', { reason: 'compromised', cascadeFrom: '111111111', userAgent: 'unit-test' }],
      ]);
      expect(changes.events).toEqual([
        {
          type: 'DeviceRevoked',
          payload: { deviceId: '111111111', cascade: ['222222222', '333333333'], actor: 'user:u-operator' },
        },
      ]);
      expect(denySet.synced).toEqual([['111111111', '222222222', '333333333']]);
    });

    it('without cascade leaves linked devices alone', async () => {
      devices.add('111111111');
      devices.add('222222222');
      devices.addLink('111111111', '222222222');

      await service.revoke('111111111', { cascade: false }, operator);

      expect(devices.find('222222222')?.revokedAt).toBeNull();
      expect(changes.events).toEqual([
        { type: 'DeviceRevoked', payload: { deviceId: '111111111', cascade: [], actor: 'user:u-operator' } },
      ]);
    });

    it('keeps the stamp of an earlier ban on a device it revokes', async () => {
      const earlier = new Date('2026-02-01T08:00:00Z');
      devices.add('111111111', { banned: true, banReason: 'first', bannedAt: earlier });

      await service.revoke('111111111', { cascade: false }, operator);

      expect(devices.find('111111111')).toMatchObject({
        banReason: 'first',
        bannedAt: earlier,
        revokedAt: NOW,
      });
    });

    it('refuses a device already revoked', async () => {
      devices.add('111111111', { revokedAt: NOW, deletedAt: NOW, banned: true });

      await expect(service.revoke('111111111', { cascade: true }, operator)).rejects.toThrow(
        new ConflictException('Device is already revoked'),
      );
      expectNothingRecorded();
    });

    it(`refuses a cascade over ${MAX_REVOKE_CASCADE} devices and revokes none of them`, async () => {
      devices.add('100000000');
      for (let index = 1; index <= MAX_REVOKE_CASCADE + 1; index++) {
        const id = String(100000000 + index);
        devices.add(id);
        devices.addLink('100000000', id);
      }

      await expect(service.revoke('100000000', { cascade: true }, operator)).rejects.toThrow(
        new ConflictException(`More than ${MAX_REVOKE_CASCADE} linked devices; unlink some first`),
      );
      expect(devices.find('100000000')?.revokedAt).toBeNull();
      expect(devices.find('100000001')?.revokedAt).toBeNull();
      expectNothingRecorded();
    });
  });

  describe('purge', () => {
    it('refuses a banned device: the row is what keeps it out', async () => {
      devices.add('123456789', { banned: true });

      await expect(service.purge('123456789', operator)).rejects.toThrow(
        new ConflictException('A banned device cannot be purged: unban it first'),
      );
      expect(devices.find('123456789')).toBeDefined();
      expectNothingRecorded();
    });

    it('refuses a revoked device for good', async () => {
      devices.add('123456789', { revokedAt: NOW, deletedAt: NOW });

      await expect(service.purge('123456789', operator)).rejects.toThrow(
        new ConflictException('A revoked device cannot be purged'),
      );
      expectNothingRecorded();
    });
  });

  it('soft-deletes at the clock’s time, which tests can move', async () => {
    devices.add('123456789');
    clock.advanceSeconds(3600);

    await service.delete('123456789', operator);

    expect(devices.find('123456789')?.deletedAt).toEqual(new Date(NOW.getTime() + 3_600_000));
    await expect(service.delete('123456789', operator)).rejects.toThrow(
      new ConflictException('Device is already deleted'),
    );
  });

  describe('links and renames', () => {
    it('refuses to link a device to itself, or twice', async () => {
      devices.add('111111111');
      devices.add('222222222');

      await expect(service.link('111111111', '111111111', operator)).rejects.toThrow(BadRequestException);
      await service.link('111111111', '222222222', operator);
      await expect(service.link('222222222', '111111111', operator)).rejects.toThrow(
        new ConflictException('Devices are already linked'),
      );
      expect(changes.actions()).toEqual(['device.link']);
    });

    it('refuses a new id another device holds, and moves the deny-set entry on success', async () => {
      devices.add('111111111');
      devices.add('222222222');

      await expect(service.changeId('111111111', '222222222', operator)).rejects.toThrow(
        new ConflictException('The new id is held by another device'),
      );
      expectNothingRecorded();

      await service.changeId('111111111', '333333333', operator);
      expect(devices.find('333333333')).toBeDefined();
      expect(denySet.synced).toEqual([['111111111', '333333333']]);
    });
  });
});
