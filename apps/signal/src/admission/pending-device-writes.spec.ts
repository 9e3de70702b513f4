import { type PendingRegistration, PendingDeviceWrites } from './pending-device-writes';

const registration = (seenAt: number, pk = 1): PendingRegistration => ({
  uuid: new Uint8Array([1]),
  pk: new Uint8Array([pk]),
  ip: '10.0.0.1',
  seenAt,
  admissionIfNew: 'admitted',
});

const keys = <T>(map: Map<string, T>) => [...map.keys()].sort();

describe('PendingDeviceWrites', () => {
  it('keeps one record per device, however many messages it sent', () => {
    const pending = new PendingDeviceWrites();
    for (let at = 0; at < 1000; at++) {
      pending.see('aaa111', '10.0.0.1', at);
      pending.see('bbb222', '10.0.0.2', at);
    }
    pending.register('ccc333', registration(5, 1));
    pending.register('ccc333', registration(6, 2));

    expect(pending.size).toBe(3);
    const batch = pending.take(true);
    expect(batch.seen.get('aaa111')).toEqual({ ip: '10.0.0.1', at: 999 });
    expect(batch.registrations.get('ccc333')?.pk).toEqual(new Uint8Array([2]));
  });

  it('folds heartbeats into a waiting registration, never moving time back', () => {
    const pending = new PendingDeviceWrites();
    pending.see('aaa111', '10.0.0.1', 50);
    pending.register('aaa111', registration(40));
    pending.see('aaa111', '10.0.0.1', 45);
    pending.see('aaa111', '10.0.0.1', 70);

    const batch = pending.take(true);
    expect(batch.seen.size).toBe(0);
    expect(batch.registrations.get('aaa111')?.seenAt).toBe(70);
  });

  it('leaves heartbeats behind when a flush does not want them', () => {
    const pending = new PendingDeviceWrites();
    pending.see('aaa111', '10.0.0.1', 1);
    pending.register('bbb222', registration(1));

    const batch = pending.take(false);
    expect(keys(batch.registrations)).toEqual(['bbb222']);
    expect(batch.seen.size).toBe(0);
    expect(pending.seenCount).toBe(1);
  });

  it('moves unwritten records with a rename and queues the rename before them', () => {
    const pending = new PendingDeviceWrites();
    pending.register('old111', registration(1));
    pending.see('other1', '10.0.0.9', 1);
    pending.rename('old111', 'new111');
    pending.rename('other1', 'other2');

    const batch = pending.take(true);
    expect(batch.idChanges).toEqual([
      { oldId: 'old111', newId: 'new111' },
      { oldId: 'other1', newId: 'other2' },
    ]);
    expect(keys(batch.registrations)).toEqual(['new111']);
    expect(batch.registrations.get('new111')?.renamedFrom).toBe('old111');
    expect(keys(batch.seen)).toEqual(['other2']);
  });

  it('gives a failed batch back under newer records, re-keyed by renames made meanwhile', () => {
    const pending = new PendingDeviceWrites();
    pending.register('aaa111', registration(10, 1));
    pending.register('bbb222', registration(10, 1));
    pending.see('ccc333', '10.0.0.3', 10);
    pending.rename('zzz000', 'zzz001');
    const batch = pending.take(true);

    // Recorded while the flush was out.
    pending.register('aaa111', registration(5, 2));
    pending.rename('bbb222', 'bbb333');
    pending.see('ccc333', '10.0.0.4', 20);
    pending.rename('zzz001', 'zzz002');
    pending.restore(batch);

    const retry = pending.take(true);
    // Older id changes first, so zzz000 → zzz001 → zzz002 replays in order.
    expect(retry.idChanges).toEqual([
      { oldId: 'zzz000', newId: 'zzz001' },
      { oldId: 'bbb222', newId: 'bbb333' },
      { oldId: 'zzz001', newId: 'zzz002' },
    ]);
    // The newer registration wins, but its last-seen never goes back.
    expect(retry.registrations.get('aaa111')?.pk).toEqual(new Uint8Array([2]));
    expect(retry.registrations.get('aaa111')?.seenAt).toBe(10);
    // The failed registration of bbb222 comes back under the id it has now.
    expect(keys(retry.registrations)).toEqual(['aaa111', 'bbb333']);
    expect(retry.seen.get('ccc333')).toEqual({ ip: '10.0.0.4', at: 20 });
  });

  it('never lets a pending-approval record replace a registration', () => {
    const pending = new PendingDeviceWrites();
    pending.register('aaa111', registration(1));
    pending.registerIfAbsent('aaa111', { ...registration(2), pk: null, admissionIfNew: 'pending' });
    pending.registerIfAbsent('bbb222', { ...registration(2), pk: null, admissionIfNew: 'pending' });

    const batch = pending.take(false);
    expect(batch.registrations.get('aaa111')?.admissionIfNew).toBe('admitted');
    expect(batch.registrations.get('bbb222')?.admissionIfNew).toBe('pending');
  });
});
