import { randomUUID } from 'node:crypto';

import { type Redis } from 'ioredis';

import { isDeviceId } from '@switchboard/domain';

import { connectIfLazy } from './lazy-connect';
import { type RegistryKeys, registryKeys, type RelayIpList } from './registry-layout';

/*
 * The durable half of what relays must refuse, in Redis because relays hold no database credentials
 * (docs/architecture.md "Ban / revoke": pub/sub is fire-and-forget, so the deny set also lives in a Redis
 * set that every subscriber reloads on each resync). Keys are in registry-layout.ts.
 *
 * Contract for the writer (the api), so a relay that reloads these sets after any gap or reconnect
 * ends up where the events would have brought it:
 *  - Write the set BEFORE publishing the event that announces the change (libs/events).
 *  - denied-devices holds every RustDesk id that is banned, revoked or soft-deleted in Postgres.
 *    DeviceBanned / DeviceRevoked (the id and its whole cascade) / DeviceDeleted{hard:false}: SADD.
 *    DeviceUnbanned: SREM only if the device is no longer revoked or soft-deleted either; relays
 *    re-read the membership on that event instead of trusting it blindly.
 *    DeviceDeleted{hard:true}: SREM (the id is unknown again). DeviceIdChanged: move the membership.
 *  - blocklist / blacklist hold IP strings exactly as a relay sees them (IPv4 dotted, IPv6 as Node
 *    prints it). RelayBlocklistChanged{list, action, entry}: SADD or SREM `entry` in that list first.
 *    Their durable copy is Postgres (relay_ip_list_entries); after each complete rebuild from it the
 *    api writes a fresh id to ip-lists:rebuilt, which relays treat as they treat the deny set's.
 *  - The api should rebuild denied-devices from Postgres at its start, so the set cannot drift, and
 *    whenever its Redis connection comes back; after each complete rebuild it writes a fresh id to
 *    denied-devices:rebuilt. Relays read that id before the set: present, the set was complete when
 *    it was written; absent or unchanged since Redis went away, it may be a lost or restored-old set.
 */

export const MAX_IP_LIST_ENTRY_LENGTH = 128;
const SCAN_BATCH = 1_000;

export interface RelayAccessListsOptions {
  readonly redis: Redis;
  /** Same prefix as the rest of the relay registry (`switchboard:relay` by default). */
  readonly prefix?: string;
}

export interface IpListsSnapshot {
  /** The id of the api's last complete rebuild of both lists, or null when Redis holds none. */
  readonly rebuild: string | null;
  readonly blocklist: Set<string>;
  readonly blacklist: Set<string>;
}

export interface DeniedDevicesSnapshot {
  /** The id of the api's last complete rebuild, or null when Redis holds none. */
  readonly rebuild: string | null;
  readonly ids: Set<string>;
}

/** Reads (relay) and writes (api, tests) the denied-device set and the two IP lists. */
export class RelayAccessLists {
  private readonly redis: Redis;
  private readonly keys: RegistryKeys;

  constructor(options: RelayAccessListsOptions) {
    this.redis = options.redis;
    this.keys = registryKeys(options.prefix);
  }

  /** Every denied device id, read with SSCAN so a large set never blocks Redis. */
  async deniedDevices(): Promise<Set<string>> {
    return this.scan(this.keys.deniedDevices, isDeviceId);
  }

  /**
   * The set with the id of the rebuild it came from (null: none since Redis lost its data, or never).
   * The id is read first: the api writes it only after the set is whole, so a set read after an id
   * is at least that rebuild's.
   */
  async deniedDevicesSnapshot(): Promise<DeniedDevicesSnapshot> {
    await connectIfLazy(this.redis);
    const rebuild = await this.redis.get(this.keys.deniedDevicesRebuilt);
    return { rebuild, ids: await this.deniedDevices() };
  }

  /** The api, after a complete rebuild: a fresh id, so relays can tell this rebuild from the last. */
  async markDeniedDevicesRebuilt(): Promise<void> {
    await connectIfLazy(this.redis);
    await this.redis.set(this.keys.deniedDevicesRebuilt, randomUUID());
  }

  async isDeviceDenied(deviceId: string): Promise<boolean> {
    if (!isDeviceId(deviceId)) return false;
    await connectIfLazy(this.redis);
    return (await this.redis.sismember(this.keys.deniedDevices, deviceId)) === 1;
  }

  async denyDevices(deviceIds: readonly string[]): Promise<void> {
    const valid = deviceIds.filter(isDeviceId);
    if (valid.length === 0) return;
    await connectIfLazy(this.redis);
    await this.redis.sadd(this.keys.deniedDevices, ...valid);
  }

  async allowDevices(deviceIds: readonly string[]): Promise<void> {
    const valid = deviceIds.filter(isDeviceId);
    if (valid.length === 0) return;
    await connectIfLazy(this.redis);
    await this.redis.srem(this.keys.deniedDevices, ...valid);
  }

  /** Both IP lists with the id of the rebuild they came from (null: none since Redis lost its data). */
  async ipListsSnapshot(): Promise<IpListsSnapshot> {
    await connectIfLazy(this.redis);
    const rebuild = await this.redis.get(this.keys.ipListsRebuilt);
    const [blocklist, blacklist] = await Promise.all([this.ipList('blocklist'), this.ipList('blacklist')]);
    return { rebuild, blocklist, blacklist };
  }

  /** The api, after making both lists equal to Postgres. */
  async markIpListsRebuilt(): Promise<void> {
    await connectIfLazy(this.redis);
    await this.redis.set(this.keys.ipListsRebuilt, randomUUID());
  }

  /** Every entry of one IP list. */
  async ipList(list: RelayIpList): Promise<Set<string>> {
    return this.scan(this.keys.ipList(list), isIpListEntry);
  }

  async addToIpList(list: RelayIpList, entries: readonly string[]): Promise<void> {
    const valid = entries.map((entry) => entry.trim()).filter(isIpListEntry);
    if (valid.length === 0) return;
    await connectIfLazy(this.redis);
    await this.redis.sadd(this.keys.ipList(list), ...valid);
  }

  async removeFromIpList(list: RelayIpList, entries: readonly string[]): Promise<void> {
    const valid = entries.map((entry) => entry.trim()).filter(isIpListEntry);
    if (valid.length === 0) return;
    await connectIfLazy(this.redis);
    await this.redis.srem(this.keys.ipList(list), ...valid);
  }

  private async scan(key: string, keep: (member: string) => boolean): Promise<Set<string>> {
    await connectIfLazy(this.redis);
    const members = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.sscan(key, cursor, 'COUNT', SCAN_BATCH);
      for (const member of batch) if (keep(member)) members.add(member);
      cursor = next;
    } while (cursor !== '0');
    return members;
  }
}

function isIpListEntry(entry: string): boolean {
  return entry.length > 0 && entry.length <= MAX_IP_LIST_ENTRY_LENGTH && !/\s/.test(entry);
}
