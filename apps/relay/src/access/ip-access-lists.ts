import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type EventSubscriber, type ResyncReason } from '@switchboard/events';
import { type Logger } from '@switchboard/observability';
import { type RelayIpList } from '@switchboard/relay-registry';

import { type IpAccess } from '../ports';

export const LIST_FILES: Readonly<Record<RelayIpList, string>> = {
  blocklist: 'blocklist.txt',
  blacklist: 'blacklist.txt',
};

/** Where the Redis half of the lists is read (libs/relay-registry RelayAccessLists). */
export interface IpListStore {
  ipList(list: RelayIpList): Promise<Set<string>>;
}

export interface IpAccessListsOptions {
  /** What blocklist.txt and blacklist.txt held at start. */
  readonly files: Readonly<Record<RelayIpList, ReadonlySet<string>>>;
  readonly store: IpListStore;
  readonly events: EventSubscriber;
  readonly logger: Logger;
}

/**
 * hbbr's blocklist (dropped at accept and cut within a second during a session) and blacklist
 * (LIMIT_SPEED), from the list files read at start together with the Redis sets the api manages:
 * an IP is listed when either names it. The Redis half is reloaded on every resync and kept current
 * by RelayBlocklistChanged events.
 */
export class IpAccessLists implements IpAccess {
  private managed: Record<RelayIpList, Set<string>> = { blocklist: new Set(), blacklist: new Set() };
  /** The list files' entries; replaced when a file is edited (list-file-watcher.ts). */
  private files: Record<RelayIpList, ReadonlySet<string>>;
  private readonly blockListeners: Array<() => void> = [];
  private readonly unsubscribes: Array<() => void>;
  private readonly logger: Logger;

  constructor(private readonly options: IpAccessListsOptions) {
    this.logger = options.logger.child({ component: 'ip-lists' });
    this.files = { ...options.files };
    this.unsubscribes = [
      options.events.onResync((reason) => this.reload(reason)),
      options.events.on('RelayBlocklistChanged', ({ payload }) => {
        const entry = normalizeEntry(payload.entry);
        if (payload.action === 'add') this.managed[payload.list].add(entry);
        else this.managed[payload.list].delete(entry);
        if (payload.list === 'blocklist' && payload.action === 'add') this.notifyBlocked();
      }),
    ];
  }

  isBlocked(ip: string): boolean {
    return this.files.blocklist.has(ip) || this.managed.blocklist.has(ip);
  }

  isBlacklisted(ip: string): boolean {
    return this.files.blacklist.has(ip) || this.managed.blacklist.has(ip);
  }

  /** A list file's new content; an IP it adds to the blocklist is cut at once. */
  replaceFileList(list: RelayIpList, entries: ReadonlySet<string>): void {
    const previous = this.files[list];
    this.files = { ...this.files, [list]: entries };
    const grew = [...entries].some((entry) => !previous.has(entry));
    if (list === 'blocklist' && grew) this.notifyBlocked();
  }

  /** Called when the blocklist may have grown, so live sessions of a newly blocked IP are cut at once. */
  onBlocklistGrown(listener: () => void): void {
    this.blockListeners.push(listener);
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
  }

  private async reload(reason: ResyncReason): Promise<void> {
    const [blocklist, blacklist] = await Promise.all([
      this.options.store.ipList('blocklist'),
      this.options.store.ipList('blacklist'),
    ]);
    const normalize = (entries: Set<string>) => new Set([...entries].map(normalizeEntry));
    this.managed = { blocklist: normalize(blocklist), blacklist: normalize(blacklist) };
    this.logger.info({ reason, blocklist: blocklist.size, blacklist: blacklist.size }, 'IP lists reloaded');
    this.notifyBlocked();
  }

  private notifyBlocked(): void {
    for (const listener of this.blockListeners) listener();
  }
}

/** IPv6 as Node prints it is lower case; IPv4-mapped addresses are compared as IPv4. */
function normalizeEntry(entry: string): string {
  const trimmed = entry.trim().toLowerCase();
  return trimmed.startsWith('::ffff:') && trimmed.includes('.') ? trimmed.slice('::ffff:'.length) : trimmed;
}

/**
 * One hbbr list file: one IP per line, anything after the first space ignored (rustdesk-server
 * src/relay_server.rs reads `line.trim().split(' ').next()`). A missing file is an empty list.
 */
export async function readListFile(directory: string, list: RelayIpList): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(join(directory, LIST_FILES[list]), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw error;
  }
  return parseListFile(text);
}

export function parseListFile(text: string): Set<string> {
  const entries = new Set<string>();
  for (const line of text.split('\n')) {
    const [entry = ''] = line.trim().split(' ');
    if (entry !== '') entries.add(normalizeEntry(entry));
  }
  return entries;
}
