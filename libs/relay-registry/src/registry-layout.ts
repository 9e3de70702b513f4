import { z } from 'zod';

/*
 * Redis layout of the relay registry (docs/architecture.md "Relay choice"). `<prefix>` defaults to
 * `switchboard:relay`; tests pass a unique one.
 *
 *   <prefix>:node:<nodeId>  string, a RelayNodeRecord as JSON, PX ttlMs (default 6 s, refreshed every 2 s).
 *                           The TTL is the liveness test: a relay that dies stops refreshing and its
 *                           record lapses on its own; a draining relay deletes it at once.
 *   <prefix>:nodes          set of node ids, so listing is SMEMBERS + one MULTI of GET/PTTL per node:
 *                           O(nodes), no SCAN over the keyspace. Ids whose record has lapsed are
 *                           removed by whoever lists them (a script re-checks the record first, so a
 *                           node re-announcing at that moment is not dropped).
 *   <prefix>:ticket:<uuid>  string `<signature>.<claims JSON>` (relay-ticket.ts), PX ttlMs (default 60 s).
 *                           Written by signal when B answers A's relay request, signed with its
 *                           identity key; the relay verifies it and deletes it when the pair forms.
 *   <prefix>:denied-devices set of RustDesk ids no relay may carry (banned, revoked, soft-deleted);
 *                           written by the api, read by every relay (relay-access-lists.ts has the contract).
 *   <prefix>:denied-devices:rebuilt  string, a fresh id the api writes after each complete rebuild of
 *                           denied-devices. Absent when Redis lost its data: the set may then be
 *                           incomplete, and relays keep the denials they hold until a rebuild lands.
 *   <prefix>:blocklist      set of IPs relays refuse at accept (hbbr's blocklist.txt, managed through Redis).
 *   <prefix>:blacklist      set of IPs whose sessions run at LIMIT_SPEED (hbbr's blacklist.txt).
 *   <prefix>:ip-lists:rebuilt  string, a fresh id the api writes after each complete rebuild of both
 *                           IP lists from Postgres; absent after a data loss, as for denied-devices.
 *
 * Readers never compare clocks across hosts: expiry comes from Redis's PTTL, measured against the
 * reader's own monotonic clock, so a skewed relay host cannot make its record look fresh or stale.
 */

export const DEFAULT_REGISTRY_PREFIX = 'switchboard:relay';

/** hbbr's two IP lists (docs/protocol.md §6): `blocklist` refuses, `blacklist` slows down. */
export type RelayIpList = 'blocklist' | 'blacklist';

export interface RegistryKeys {
  readonly nodeIndex: string;
  node(nodeId: string): string;
  ticket(uuid: string): string;
  readonly deniedDevices: string;
  readonly deniedDevicesRebuilt: string;
  ipList(list: RelayIpList): string;
  readonly ipListsRebuilt: string;
}

export function registryKeys(prefix: string = DEFAULT_REGISTRY_PREFIX): RegistryKeys {
  return {
    nodeIndex: `${prefix}:nodes`,
    node: (nodeId) => `${prefix}:node:${nodeId}`,
    ticket: (uuid) => `${prefix}:ticket:${uuid}`,
    deniedDevices: `${prefix}:denied-devices`,
    deniedDevicesRebuilt: `${prefix}:denied-devices:rebuilt`,
    ipList: (list) => `${prefix}:${list}`,
    ipListsRebuilt: `${prefix}:ip-lists:rebuilt`,
  };
}

/** The relay's RELAY_NODE_ID rule (apps/relay/src/config.ts). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/;

/** host or host:port as clients dial it; without a port the client adds 21117 (RELAY_PORT). */
export function isRelayAddress(value: string): boolean {
  const match = HOST_PORT.exec(value);
  if (!match || value.length > 255) return false;
  const port = match[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}

const relayAddress = z.string().refine(isRelayAddress, 'must be host or host:port');

export const relayNodeRecordSchema = z.object({
  nodeId: z.string().regex(NODE_ID_PATTERN),
  /** What signal hands to clients (RELAY_PUBLIC_ADDR): the TCP relay port. */
  address: relayAddress,
  /** The WebSocket listener, for operators; WS clients derive it from `address` themselves. */
  wsAddress: relayAddress.optional(),
  /** Paired sessions currently carried. */
  sessions: z.number().int().nonnegative(),
  /** Bytes relayed per second, both directions, averaged over the last refresh interval. */
  bytesPerSecond: z.number().nonnegative().finite(),
  /** Sessions this node is sized for; load = sessions / capacity. */
  capacity: z.number().int().positive(),
  /** Listed but never picked: a node that keeps serving its sessions but takes no new ones. */
  draining: z.boolean(),
  /** Epoch ms on the relay's clock when this record was written; informational only. */
  updatedAt: z.number().int().nonnegative(),
});

export type RelayNodeRecord = z.infer<typeof relayNodeRecordSchema>;
