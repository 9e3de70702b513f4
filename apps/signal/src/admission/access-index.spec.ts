import { type DeviceAccessRow } from '@switchboard/data-access';

import { AccessIndex } from './access-index';
import { ADMITTED, BANNED } from './access-state';

const row = (rustdeskId: string, overrides: Partial<DeviceAccessRow> = {}): DeviceAccessRow => ({
  rustdeskId,
  admission: 'admitted',
  banned: false,
  deleted: false,
  revoked: false,
  uuidDigest: null,
  ...overrides,
});

describe('AccessIndex', () => {
  it('reports the devices a reload finds newly denied, by refusal', () => {
    const index = new AccessIndex();
    index.set('was-banned', ADMITTED | BANNED);
    index.set('fine01', ADMITTED);

    const reload = index.beginReload();
    reload.add([
      row('was-banned', { banned: true }),
      row('fine01', { banned: true }),
      row('gone01', { deleted: true }),
      row('cut001', { revoked: true, banned: true }),
    ]);
    // Checks still see the old contents until the commit.
    expect(index.stateOf('gone01')).toBe(0);
    const newlyDenied = reload.commit();

    expect(Object.fromEntries(newlyDenied)).toEqual({
      banned: ['fine01'],
      deleted: ['gone01'],
      revoked: ['cut001'],
    });
    expect(index.size).toBe(4);
  });

  it('forgets what the reload does not find, and moves a state with a rename', () => {
    const index = new AccessIndex();
    index.set('stale1', ADMITTED);
    const reload = index.beginReload();
    reload.add([row('keep01')]);
    reload.commit();
    expect(index.has('stale1')).toBe(false);

    expect(index.move('keep01', 'renamed')).toBe(true);
    expect(index.stateOf('renamed')).toBe(ADMITTED);
    expect(index.has('keep01')).toBe(false);
    expect(index.move('ghost1', 'other1')).toBe(false);
  });

  it('drops an entry whose state returns to nothing', () => {
    const index = new AccessIndex();
    index.update('ban001', (state) => state | BANNED);
    expect(index.has('ban001')).toBe(true);
    index.update('ban001', (state) => state & ~BANNED);
    expect(index.has('ban001')).toBe(false);
  });
});
