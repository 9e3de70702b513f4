import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InMemoryEventBus } from '@switchboard/events';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { type RelayIpList } from '@switchboard/relay-registry';

import { IpAccessLists, type IpListStore, parseListFile, readListFile } from './ip-access-lists';
import { UNCHANGED_REBUILD_TRUSTED_AFTER_MS } from './rebuild-trust';

const logger = createLogger({ name: 'ip-lists-test', level: 'silent' });

describe('hbbr list files', () => {
  it('takes one IP per line and ignores what follows the first space', () => {
    const text = '1.2.3.4 abuse report 17\n  5.6.7.8\r\n\n2001:DB8::1\n::ffff:9.9.9.9\n';
    expect(parseListFile(text)).toEqual(new Set(['1.2.3.4', '5.6.7.8', '2001:db8::1', '9.9.9.9']));
  });

  it('reads blocklist.txt and blacklist.txt from a directory; a missing file is an empty list', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'relay-lists-'));
    try {
      await writeFile(join(directory, 'blocklist.txt'), '10.0.0.1\n');
      expect(await readListFile(directory, 'blocklist')).toEqual(new Set(['10.0.0.1']));
      expect(await readListFile(directory, 'blacklist')).toEqual(new Set());
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('IpAccessLists', () => {
  it('lists an IP named by the file or by the Redis set, kept current by events', async () => {
    const events = new InMemoryEventBus({ logger });
    const redis: Record<RelayIpList, Set<string>> = {
      blocklist: new Set(['10.0.0.2']),
      blacklist: new Set(),
    };
    const lists = new IpAccessLists({
      files: { blocklist: new Set(['10.0.0.1']), blacklist: new Set(['10.0.0.9']) },
      store: {
        ipListsSnapshot: () =>
          Promise.resolve({
            rebuild: 'r1',
            blocklist: new Set(redis.blocklist),
            blacklist: new Set(redis.blacklist),
          }),
      },
      events,
      logger,
    });
    let grown = 0;
    lists.onBlocklistGrown(() => (grown += 1));
    await events.start();
    expect([lists.isBlocked('10.0.0.1'), lists.isBlocked('10.0.0.2'), lists.isBlocked('10.0.0.3')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(lists.isBlacklisted('10.0.0.9')).toBe(true);

    await events.publish('RelayBlocklistChanged', { list: 'blocklist', action: 'add', entry: '10.0.0.3' });
    await events.publish('RelayBlocklistChanged', { list: 'blocklist', action: 'remove', entry: '10.0.0.2' });
    await events.publish('RelayBlocklistChanged', { list: 'blacklist', action: 'add', entry: '10.0.0.4' });
    expect([
      lists.isBlocked('10.0.0.2'),
      lists.isBlocked('10.0.0.3'),
      lists.isBlacklisted('10.0.0.4'),
    ]).toEqual([false, true, true]);
    // Removing through Redis does not lift what the file lists.
    await events.publish('RelayBlocklistChanged', { list: 'blocklist', action: 'remove', entry: '10.0.0.1' });
    expect(lists.isBlocked('10.0.0.1')).toBe(true);
    expect(grown).toBe(2); // the start resync and the one addition
    await events.stop();
  });

  it('takes a list file’s new content and cuts at once only when the blocklist gained an IP', () => {
    const lists = new IpAccessLists({
      files: { blocklist: new Set(['10.0.0.1']), blacklist: new Set() },
      store: {
        ipListsSnapshot: () => Promise.resolve({ rebuild: 'r1', blocklist: new Set(), blacklist: new Set() }),
      },
      events: new InMemoryEventBus({ logger }),
      logger,
    });
    let grown = 0;
    lists.onBlocklistGrown(() => (grown += 1));

    lists.replaceFileList('blocklist', new Set(['10.0.0.2']));
    expect([lists.isBlocked('10.0.0.1'), lists.isBlocked('10.0.0.2')]).toEqual([false, true]);
    expect(grown).toBe(1);
    lists.replaceFileList('blocklist', new Set());
    lists.replaceFileList('blacklist', new Set(['10.0.0.9']));
    expect(grown).toBe(1);
    expect([lists.isBlocked('10.0.0.2'), lists.isBlacklisted('10.0.0.9')]).toEqual([false, true]);
  });

  it('reports how many IPs each list holds, by where they come from', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const events = new InMemoryEventBus({ logger });
    const lists = new IpAccessLists({
      files: { blocklist: new Set(['10.0.0.1', '10.0.0.2']), blacklist: new Set() },
      store: {
        ipListsSnapshot: () =>
          Promise.resolve({
            rebuild: 'r1',
            blocklist: new Set(['10.0.0.3']),
            blacklist: new Set(['10.0.0.4']),
          }),
      },
      events,
      logger,
      registry,
    });
    await events.start();
    const entries = async () =>
      Object.fromEntries(
        (await registry.getSingleMetric('switchboard_relay_ip_list_entries')!.get()).values.map((sample) => [
          `${sample.labels['list']}/${sample.labels['source']}`,
          sample.value,
        ]),
      );
    expect(await entries()).toEqual({
      'blocklist/file': 2,
      'blacklist/file': 0,
      'blocklist/managed': 1,
      'blacklist/managed': 1,
    });
    await events.publish('RelayBlocklistChanged', { list: 'blacklist', action: 'remove', entry: '10.0.0.4' });
    expect((await entries())['blacklist/managed']).toBe(0);
    lists.stop();
    await events.stop();
  });

  describe('after Redis lost its data', () => {
    /** The Redis side as the api keeps it: both sets and the id of its last rebuild. */
    class FakeStore implements IpListStore {
      rebuild: string | null = 'rebuild-1';
      lists: Record<RelayIpList, Set<string>> = { blocklist: new Set(), blacklist: new Set() };
      ipListsSnapshot() {
        return Promise.resolve({
          rebuild: this.rebuild,
          blocklist: new Set(this.lists.blocklist),
          blacklist: new Set(this.lists.blacklist),
        });
      }
    }

    async function started(store: FakeStore, clock: () => number) {
      const events = new InMemoryEventBus({ logger });
      const lists = new IpAccessLists({
        files: { blocklist: new Set(), blacklist: new Set() },
        store,
        events,
        logger,
        refreshMs: 60_000,
        clock,
      });
      await events.start();
      return { events, lists };
    }

    it('keeps blocking what it held through a reconnect to an empty Redis until the api rebuilds', async () => {
      jest.useFakeTimers();
      let now = 0;
      const store = new FakeStore();
      store.lists.blocklist.add('203.0.113.9');
      store.lists.blacklist.add('203.0.113.10');
      const { events, lists } = await started(store, () => now);
      try {
        expect(lists.isBlocked('203.0.113.9')).toBe(true);

        // Redis restarts empty: no sets, no rebuild id; the subscriber reconnects and resyncs.
        store.lists = { blocklist: new Set(), blacklist: new Set() };
        store.rebuild = null;
        await events.simulateReconnect();
        expect(lists.isBlocked('203.0.113.9')).toBe(true);
        expect(lists.isBlacklisted('203.0.113.10')).toBe(true);

        // The api rebuilds from Postgres, which meanwhile dropped the blacklist entry: the next
        // refresh (every second while waiting) takes the rebuilt lists as they are.
        store.lists = { blocklist: new Set(['203.0.113.9']), blacklist: new Set() };
        store.rebuild = 'rebuild-2';
        now += 1_000;
        await jest.advanceTimersByTimeAsync(1_000);
        expect(lists.isBlocked('203.0.113.9')).toBe(true);
        expect(lists.isBlacklisted('203.0.113.10')).toBe(false);
      } finally {
        lists.stop();
        await events.stop();
        jest.useRealTimers();
      }
    });

    it('trusts an unchanged rebuild id again after a while (Redis never lost the lists)', async () => {
      jest.useFakeTimers();
      let now = 0;
      const store = new FakeStore();
      store.lists.blocklist.add('198.51.100.1');
      const { events, lists } = await started(store, () => now);
      try {
        // A network blip on the relay's side: the unblock published meanwhile was missed.
        store.lists.blocklist.delete('198.51.100.1');
        await events.simulateReconnect();
        expect(lists.isBlocked('198.51.100.1')).toBe(true);
        now += UNCHANGED_REBUILD_TRUSTED_AFTER_MS;
        await jest.advanceTimersByTimeAsync(1_000);
        expect(lists.isBlocked('198.51.100.1')).toBe(false);
      } finally {
        lists.stop();
        await events.stop();
        jest.useRealTimers();
      }
    });

    it('takes the lists as they are on a gap resync when Redis holds a rebuild id, and cuts the newly blocked', async () => {
      const store = new FakeStore();
      store.lists.blocklist.add('192.0.2.1');
      const { events, lists } = await started(store, () => 0);
      let grown = 0;
      lists.onBlocklistGrown(() => (grown += 1));
      try {
        store.lists.blocklist = new Set(['192.0.2.2']);
        events.dropNext();
        await events.publish('RelayBlocklistChanged', {
          list: 'blacklist',
          action: 'add',
          entry: '192.0.2.9',
        });
        await events.publish('RelayBlocklistChanged', {
          list: 'blacklist',
          action: 'add',
          entry: '192.0.2.8',
        }); // reveals the gap
        expect([lists.isBlocked('192.0.2.1'), lists.isBlocked('192.0.2.2')]).toEqual([false, true]);
        expect(grown).toBe(1);
      } finally {
        lists.stop();
        await events.stop();
      }
    });
  });
});
