import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InMemoryEventBus } from '@switchboard/events';
import { createLogger } from '@switchboard/observability';
import { type RelayIpList } from '@switchboard/relay-registry';

import { IpAccessLists, parseListFile, readListFile } from './ip-access-lists';

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
      store: { ipList: (list) => Promise.resolve(new Set(redis[list])) },
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
      store: { ipList: () => Promise.resolve(new Set<string>()) },
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
});
