import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type EventSubscriber, type ResyncReason } from '@switchboard/events';
import { Gauge, type Logger, type Registry } from '@switchboard/observability';
import { type RelayIpList } from '@switchboard/relay-registry';

import { type IpAccess } from '../ports';
import { RebuildTrust, startRefreshTimer } from './rebuild-trust';

export const LIST_FILES: Readonly<Record<RelayIpList, string>> = {
  blocklist: 'blocklist.txt',
  blacklist: 'blacklist.txt',
};

/** Where the Redis half of the lists is read (libs/relay-registry RelayAccessLists). */
export interface IpListStore {
  /** Both lists and the id of the api's rebuild they came from (null: none since Redis lost its data). */
  ipListsSnapshot(): Promise<{ rebuild: string | null } & Record<RelayIpList, Set<string>>>;
}

export interface IpAccessListsOptions {
  /** What blocklist.txt and blacklist.txt held at start. */
  readonly files: Readonly<Record<RelayIpList, ReadonlySet<string>>>;
  readonly store: IpListStore;
  readonly events: EventSubscriber;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Also re-read the lists this often (what a rebuild behind the event stream's back added). */
  readonly refreshMs?: number;
  /** Milliseconds, monotonic; for tests. */
  readonly clock?: () => number;
}

type IpLists = Record<RelayIpList, Set<string>>;

/**
 * hbbr's blocklist (dropped at accept and cut within a second during a session) and blacklist
 * (LIMIT_SPEED), from the list files read at start together with the Redis sets the api keeps equal
 * to Postgres: an IP is listed when either names it. The Redis half is reloaded on every resync, kept
 * current by RelayBlocklistChanged events, and re-read every refreshMs. After a reconnect it is
 * trusted as the deny set is (rebuild-trust.ts): entries held are kept until the api's rebuild shows,
 * so a Redis that lost its data does not unblock anyone.
 */
export class IpAccessLists implements IpAccess {
  private managed: IpLists = { blocklist: new Set(), blacklist: new Set() };
  /** The list files' entries; replaced when a file is edited (list-file-watcher.ts). */
  private files: Record<RelayIpList, ReadonlySet<string>>;
  private readonly blockListeners: Array<() => void> = [];
  private readonly unsubscribes: Array<() => void>;
  private readonly logger: Logger;
  private readonly trust: RebuildTrust;
  private readonly refreshTimer: NodeJS.Timeout | undefined;
  /** Bumped by every change events or resyncs make, so a refresh that raced one is dropped. */
  private changes = 0;
  private refreshing = false;

  constructor(private readonly options: IpAccessListsOptions) {
    this.logger = options.logger.child({ component: 'ip-lists' });
    this.files = { ...options.files };
    const clock = options.clock ?? (() => performance.now());
    this.trust = new RebuildTrust(clock);
    if (options.registry) this.registerMetric(options.registry);
    this.unsubscribes = [
      options.events.onResync((reason) => this.reload(reason)),
      options.events.on('RelayBlocklistChanged', ({ payload }) => {
        this.changes += 1;
        const entry = normalizeEntry(payload.entry);
        if (payload.action === 'add') this.managed[payload.list].add(entry);
        else this.managed[payload.list].delete(entry);
        if (payload.list === 'blocklist' && payload.action === 'add') this.notifyBlocked();
      }),
    ];
    if (options.refreshMs !== undefined) {
      this.refreshTimer = startRefreshTimer(options.refreshMs, this.trust, clock, () => void this.refresh());
    }
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
    clearInterval(this.refreshTimer);
    for (const unsubscribe of this.unsubscribes) unsubscribe();
  }

  private async reload(reason: ResyncReason): Promise<void> {
    const snapshot = await this.options.store.ipListsSnapshot();
    this.changes += 1;
    const fresh = normalizeLists(snapshot);
    if (this.trust.trustResync(reason, snapshot.rebuild)) {
      this.managed = fresh;
      this.logger.info({ reason, ...sizes(fresh) }, 'IP lists reloaded');
    } else {
      this.merge(fresh);
      this.logger.info(
        { reason, ...sizes(this.managed), rebuild: snapshot.rebuild },
        'IP lists merged, keeping held entries until the api rebuilds them',
      );
    }
    this.notifyBlocked();
  }

  /**
   * Adds what Redis holds that this copy lacks; replaces the copy once the awaited rebuild shows.
   * Removals otherwise come only from events and resyncs. A read that an event or resync overlapped
   * is dropped; the next retries.
   */
  private async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    const changesBefore = this.changes;
    try {
      const snapshot = await this.options.store.ipListsSnapshot();
      if (this.changes !== changesBefore) return;
      const fresh = normalizeLists(snapshot);
      if (this.trust.rebuiltSince(snapshot.rebuild)) {
        this.managed = fresh;
        this.logger.info(sizes(fresh), 'IP lists reloaded after the api rebuilt them');
        this.notifyBlocked();
        return;
      }
      const blocked = [...fresh.blocklist].some((entry) => !this.managed.blocklist.has(entry));
      this.merge(fresh);
      if (blocked) this.notifyBlocked();
    } catch (error) {
      this.logger.debug({ err: error }, 'IP list refresh failed; the next one retries');
    } finally {
      this.refreshing = false;
    }
  }

  private registerMetric(registry: Registry): void {
    const read = () => ({ file: this.files, managed: this.managed });
    new Gauge({
      name: 'switchboard_relay_ip_list_entries',
      help: 'IPs on the relay IP lists, by list and by where they come from (file: beside this relay, managed: the api)',
      labelNames: ['list', 'source'],
      registers: [registry],
      collect() {
        for (const [source, lists] of Object.entries(read())) {
          for (const list of RELAY_IP_LISTS) this.set({ list, source }, lists[list].size);
        }
      },
    });
  }

  private merge(fresh: IpLists): void {
    for (const list of RELAY_IP_LISTS) for (const entry of fresh[list]) this.managed[list].add(entry);
  }

  private notifyBlocked(): void {
    for (const listener of this.blockListeners) listener();
  }
}

const RELAY_IP_LISTS: readonly RelayIpList[] = ['blocklist', 'blacklist'];

function normalizeLists(lists: Record<RelayIpList, Set<string>>): IpLists {
  const normalize = (entries: Set<string>) => new Set([...entries].map(normalizeEntry));
  return { blocklist: normalize(lists.blocklist), blacklist: normalize(lists.blacklist) };
}

function sizes(lists: IpLists): Record<RelayIpList, number> {
  return { blocklist: lists.blocklist.size, blacklist: lists.blacklist.size };
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
