import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import { type Logger } from '@switchboard/observability';
import { type RelayIpList } from '@switchboard/relay-registry';

import { LIST_FILES, readListFile } from './ip-access-lists';

export interface ListFileWatcherOptions {
  /** RELAY_LISTS_DIR. */
  readonly directory: string;
  /** How often the files' metadata is checked. */
  readonly intervalMs: number;
  /** A file's content changed (or it appeared or went: a missing file is an empty list). */
  readonly onChange: (list: RelayIpList, entries: Set<string>) => void;
  readonly logger: Logger;
}

const LISTS: readonly RelayIpList[] = ['blocklist', 'blacklist'];

/**
 * Picks up edits of blocklist.txt and blacklist.txt while the relay runs. It polls each file's
 * metadata (inode, size, mtime) rather than using fs.watch, which misses the rename-over edits of
 * most editors and the symlink swap by which Kubernetes updates a mounted ConfigMap; `stat` follows
 * the link, so either shows up as a new inode. A file that cannot be read keeps its last list.
 */
export class ListFileWatcher {
  private readonly stamps = new Map<RelayIpList, string>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private readonly logger: Logger;

  constructor(private readonly options: ListFileWatcherOptions) {
    this.logger = options.logger.child({ component: 'list-files' });
  }

  /**
   * Reads both files once (anything edited since they were first read at start-up is not missed;
   * an unchanged list is a no-op for the receiver), then polls.
   */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => {
      // Nothing a reload does may take the relay down; the next tick tries again.
      this.check().catch((error: unknown) => this.logger.error({ err: error }, 'list file check failed'));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads every file whose metadata changed since the last look; one check at a time. */
  check(): Promise<void> {
    this.checking ??= this.checkFiles().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkFiles(): Promise<void> {
    for (const list of LISTS) {
      const stamp = await this.stampOf(list);
      if (stamp === this.stamps.get(list)) continue;
      let entries: Set<string>;
      try {
        entries = await readListFile(this.options.directory, list);
      } catch (error) {
        // Kept stale rather than emptied: an unreadable blocklist must not let everyone in.
        if (this.stamps.get(list) !== `unreadable:${stamp}`) {
          this.logger.warn(
            { err: error, file: LIST_FILES[list] },
            'list file unreadable, keeping its last content',
          );
        }
        this.stamps.set(list, `unreadable:${stamp}`);
        continue;
      }
      const firstLook = !this.stamps.has(list);
      this.stamps.set(list, stamp);
      if (!firstLook)
        this.logger.info({ file: LIST_FILES[list], entries: entries.size }, 'list file reloaded');
      this.options.onChange(list, entries);
    }
  }

  private async stampOf(list: RelayIpList): Promise<string> {
    try {
      const info = await stat(join(this.options.directory, LIST_FILES[list]));
      return `${info.ino}:${info.size}:${info.mtimeMs}`;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? 'missing' : `error:${String(code)}`;
    }
  }
}
