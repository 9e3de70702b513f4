import { InMemoryEventBus } from '@switchboard/events';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';

import { type DeniedDeviceStore, DeviceDenyList } from './device-deny-list';
import { UNCHANGED_REBUILD_TRUSTED_AFTER_MS } from './rebuild-trust';

const logger = createLogger({ name: 'deny-list-test', level: 'silent' });

/** The Redis set, as the api keeps it (relay-registry RelayAccessLists has the real one). */
class SetStore implements DeniedDeviceStore {
  readonly members = new Set<string>();
  /** The api's last complete rebuild; null once Redis has lost its data. */
  rebuild: string | null = 'rebuild-1';
  failing = false;
  deniedDevicesSnapshot() {
    return this.failing
      ? Promise.reject(new Error('redis down'))
      : Promise.resolve({ rebuild: this.rebuild, ids: new Set(this.members) });
  }
  /** What Redis restarting without its data does to the set. */
  loseEverything() {
    this.members.clear();
    this.rebuild = null;
  }
  isDeviceDenied(id: string) {
    return this.failing ? Promise.reject(new Error('redis down')) : Promise.resolve(this.members.has(id));
  }
}

describe('DeviceDenyList', () => {
  let events: InMemoryEventBus;
  let store: SetStore;
  let list: DeviceDenyList;
  let cut: string[][];

  beforeEach(async () => {
    events = new InMemoryEventBus({ logger });
    store = new SetStore();
    store.members.add('100000001');
    list = new DeviceDenyList({ store, events, logger });
    cut = [];
    list.onDenied((ids) => cut.push([...ids]));
    await events.start();
  });
  afterEach(() => events.stop());

  it('loads the durable set at start and tells listeners what it found', () => {
    expect(list.isDenied('100000001')).toBe(true);
    expect(cut).toEqual([['100000001']]);
  });

  it('bans, revokes with their cascade and soft deletes deny at once', async () => {
    await events.publish('DeviceBanned', { deviceId: '200000001', actor: 'a' });
    await events.publish('DeviceRevoked', { deviceId: '200000002', cascade: ['200000003'], actor: 'a' });
    await events.publish('DeviceDeleted', { deviceId: '200000004', hard: false, actor: 'a' });
    expect(['200000001', '200000002', '200000003', '200000004'].every((id) => list.isDenied(id))).toBe(true);
    expect(cut.slice(1)).toEqual([['200000001'], ['200000002', '200000003'], ['200000004']]);
  });

  it('a hard delete cuts live sessions but leaves the id free for a new device', async () => {
    await events.publish('DeviceBanned', { deviceId: '300000001', actor: 'a' });
    await events.publish('DeviceDeleted', { deviceId: '300000001', hard: true, actor: 'a' });
    expect(list.isDenied('300000001')).toBe(false);
    expect(cut.at(-1)).toEqual(['300000001']);
  });

  it('a hard delete or a rename the durable set does not show frees no id', async () => {
    // 100000001 stays in the set: the events alone (a replay, an api bug) must not let it through.
    await events.publish('DeviceDeleted', { deviceId: '100000001', hard: true, actor: 'a' });
    expect(list.isDenied('100000001')).toBe(true);
    await events.publish('DeviceIdChanged', {
      oldDeviceId: '100000001',
      newDeviceId: 'renamed-2',
      actor: 'a',
    });
    expect(list.isDenied('100000001')).toBe(true);
    expect(list.isDenied('renamed-2')).toBe(true);
  });

  it('an unban lifts the denial only when the durable set agrees, and keeps it when Redis cannot say', async () => {
    store.members.add('400000001');
    await events.publish('DeviceBanned', { deviceId: '400000001', actor: 'a' });
    await events.publish('DeviceUnbanned', { deviceId: '400000001', actor: 'a' }); // still revoked
    expect(list.isDenied('400000001')).toBe(true);
    store.members.delete('400000001');
    store.failing = true;
    await events.publish('DeviceUnbanned', { deviceId: '400000001', actor: 'a' });
    expect(list.isDenied('400000001')).toBe(true);
    store.failing = false;
    await events.publish('DeviceUnbanned', { deviceId: '400000001', actor: 'a' });
    expect(list.isDenied('400000001')).toBe(false);
  });

  it('after a gap reloads the set, cuts the newly denied and lifts the lifted', async () => {
    store.members.delete('100000001');
    store.members.add('500000001');
    events.dropNext();
    await events.publish('DeviceBanned', { deviceId: '500000001', actor: 'a' }); // lost
    await events.publish('DeviceApproved', { deviceId: '500000009', actor: 'a' }); // reveals the gap
    expect(list.isDenied('500000001')).toBe(true);
    expect(list.isDenied('100000001')).toBe(false);
    expect(cut.at(-1)).toEqual(['500000001']);
  });

  it('follows a renamed device and reports its size as a metric', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const counted = new DeviceDenyList({ store, events, logger, registry });
    await events.simulateReconnect();
    // As the api does: the set first, then the event.
    store.members.delete('100000001');
    store.members.add('renamed-1');
    await events.publish('DeviceIdChanged', {
      oldDeviceId: '100000001',
      newDeviceId: 'renamed-1',
      actor: 'a',
    });
    expect(counted.isDenied('renamed-1')).toBe(true);
    expect(counted.isDenied('100000001')).toBe(false);
    expect(
      (await registry.getSingleMetric('switchboard_relay_denied_devices')?.get())?.values[0]?.value,
    ).toBe(1);
  });

  it('keeps every denial it holds through a Redis that came back empty, until the api has rebuilt the set', async () => {
    store.members.add('100000002');
    const refreshed = new DeviceDenyList({ store, events, logger, refreshMs: 10 });
    const refreshedCut: string[][] = [];
    refreshed.onDenied((ids) => refreshedCut.push([...ids]));
    try {
      await events.simulateReconnect();
      expect(['100000001', '100000002'].map((id) => refreshed.isDenied(id))).toEqual([true, true]);

      // Redis restarts without its data; the relay reconnects before the api has rebuilt anything.
      store.loseEverything();
      await events.simulateReconnect();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(['100000001', '100000002'].map((id) => refreshed.isDenied(id))).toEqual([true, true]);

      // The api writes some of the set back, without an event and before its rebuild is complete: a
      // device banned during the outage is denied at once, nothing held is lifted yet.
      store.members.add('600000001');
      await until(() => refreshed.isDenied('600000001'));
      expect(refreshedCut.at(-1)).toEqual(['600000001']);
      expect(refreshed.isDenied('100000002')).toBe(true);

      // The rebuild completes (100000002 was unbanned while no event could say so): the set wins.
      store.members.add('100000001');
      store.rebuild = 'rebuild-2';
      await until(() => !refreshed.isDenied('100000002'));
      expect(['100000001', '600000001'].map((id) => refreshed.isDenied(id))).toEqual([true, true]);

      // Trusted again, the refresh only adds: lifting a denial is left to events and resyncs.
      store.members.delete('100000001');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(refreshed.isDenied('100000001')).toBe(true);
    } finally {
      refreshed.stop();
    }
  });

  it('after a reconnect with the rebuild id unchanged (no data lost), trusts the set again once the id has held a while', async () => {
    let now = 0;
    store.members.add('100000002');
    const refreshed = new DeviceDenyList({ store, events, logger, refreshMs: 10, clock: () => now });
    try {
      await events.simulateReconnect();
      store.members.delete('100000002'); // unbanned while the relay's connection was down
      await events.simulateReconnect();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(refreshed.isDenied('100000002')).toBe(true);
      now += UNCHANGED_REBUILD_TRUSTED_AFTER_MS;
      await until(() => !refreshed.isDenied('100000002'));
      expect(refreshed.isDenied('100000001')).toBe(true);
    } finally {
      refreshed.stop();
    }
  });

  it('a start or gap resync takes the set as it is when Redis holds a rebuild id', async () => {
    store.members.add('700000001');
    const fresh = new DeviceDenyList({ store, events, logger });
    await events.simulateReconnect();
    expect(fresh.isDenied('100000001')).toBe(true);
    store.members.delete('100000001');
    events.dropNext();
    await events.publish('DeviceUnbanned', { deviceId: '100000001', actor: 'a' }); // lost
    await events.publish('DeviceApproved', { deviceId: '500000009', actor: 'a' }); // reveals the gap
    expect([fresh.isDenied('100000001'), fresh.isDenied('700000001')]).toEqual([false, true]);
    fresh.stop();
  });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('not within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
