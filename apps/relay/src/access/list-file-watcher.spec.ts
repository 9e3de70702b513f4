import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createLogger } from '@switchboard/observability';
import { type RelayIpList } from '@switchboard/relay-registry';

import { ListFileWatcher } from './list-file-watcher';

const logger = createLogger({ name: 'list-file-watcher-test', level: 'silent' });

describe('ListFileWatcher', () => {
  let directory: string;
  let changes: Array<[RelayIpList, string[]]>;
  let watcher: ListFileWatcher;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'relay-lists-'));
    changes = [];
    // Checked by hand (check()), so the test does not race a timer.
    watcher = new ListFileWatcher({
      directory,
      intervalMs: 60_000,
      onChange: (list, entries) => changes.push([list, [...entries].sort()]),
      logger,
    });
  });

  afterEach(async () => {
    watcher.stop();
    await rm(directory, { recursive: true, force: true });
  });

  it('reads both files at start, then only the ones edited since', async () => {
    await writeFile(join(directory, 'blocklist.txt'), '10.0.0.1\n');
    await watcher.start();
    expect(changes).toEqual([
      ['blocklist', ['10.0.0.1']],
      ['blacklist', []],
    ]);

    changes = [];
    await watcher.check();
    expect(changes).toEqual([]);

    await writeFile(join(directory, 'blacklist.txt'), '10.0.0.9 slow\n10.0.0.8\n');
    await watcher.check();
    expect(changes).toEqual([['blacklist', ['10.0.0.8', '10.0.0.9']]]);
  });

  it('sees a file replaced by rename, as editors and ConfigMap updates do, and a file removed', async () => {
    await writeFile(join(directory, 'blocklist.txt'), '10.0.0.1\n');
    await watcher.start();
    changes = [];

    // Same size, and possibly the same mtime: only the inode tells.
    await writeFile(join(directory, 'next'), '10.0.0.2\n');
    await rename(join(directory, 'next'), join(directory, 'blocklist.txt'));
    await watcher.check();
    expect(changes).toEqual([['blocklist', ['10.0.0.2']]]);

    await rm(join(directory, 'blocklist.txt'));
    await watcher.check();
    expect(changes).toEqual([
      ['blocklist', ['10.0.0.2']],
      ['blocklist', []],
    ]);
  });

  it('keeps the last list when a file cannot be read, and takes it again once it can', async () => {
    await writeFile(join(directory, 'blocklist.txt'), '10.0.0.1\n');
    await watcher.start();
    changes = [];

    await rm(join(directory, 'blocklist.txt'));
    await mkdir(join(directory, 'blocklist.txt'));
    await expect(watcher.check()).resolves.toBeUndefined();
    expect(changes).toEqual([]);

    await rm(join(directory, 'blocklist.txt'), { recursive: true });
    await writeFile(join(directory, 'blocklist.txt'), '10.0.0.3\n');
    await watcher.check();
    expect(changes).toEqual([['blocklist', ['10.0.0.3']]]);
  });
});
