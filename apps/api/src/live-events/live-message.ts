// The console's live event stream (GET /api/v1/live, a WebSocket): every frame the api sends, as one
// JSON text frame `{ "type", "at", "data" }`. This file is the contract; the console mirrors it
// (apps/web) and docs/architecture.md "Console live events" describes it. Frames only say that
// something changed: the console refetches through the REST API whenever it needs the whole row, and
// whenever it is told to `resync`. Types are added, never changed: a console must ignore unknown ones.

import { type Permission } from '../auth/permissions';

/** Why the console should refetch instead of applying frames one by one. */
export type ResyncReason =
  /** The event bus missed events (gap or Redis reconnect): device rows may be stale. */
  | 'events-gap'
  /** More changes at once than LIVE_MAX_BATCH: one summary instead of a flood of frames. */
  | 'too-many-changes'
  /** A source (Postgres, Redis) failed and is back: what happened meanwhile was not seen. */
  | 'source-recovered';

/** What a `resync` asks the console to refetch. */
export type ResyncScope = 'devices' | 'audit' | 'relays';

export interface RelayNodeSummary {
  readonly nodeId: string;
  /** What clients dial (host or host:port). */
  readonly address: string;
  readonly sessions: number;
  readonly capacity: number;
  readonly bytesPerSecond: number;
  readonly draining: boolean;
}

/** Frame type → its `data`. */
export interface LiveMessageData {
  /** The first frame after the upgrade: who is connected and what they will receive. */
  readonly hello: {
    readonly user: { readonly id: string; readonly username: string; readonly role: string };
    /** The frame types this connection may receive (its permissions decide). */
    readonly receives: readonly LiveMessageType[];
    /** The server pings this often; it drops a connection that answered none of the last two pings. */
    readonly heartbeatMs: number;
  };
  /** `id` is the RustDesk id, as in GET /api/v1/devices. Seen within DEVICE_ONLINE_WINDOW_SECONDS. */
  readonly 'device.online': { readonly id: string };
  readonly 'device.offline': { readonly id: string };
  /** Presence changed for more devices than LIVE_MAX_BATCH at once: refetch the device list. */
  readonly 'devices.changed': { readonly online: number; readonly offline: number };
  readonly 'device.banned': { readonly id: string; readonly reason: string | null; readonly actor: string };
  readonly 'device.unbanned': { readonly id: string; readonly actor: string };
  readonly 'device.approved': { readonly id: string; readonly actor: string };
  /** `hard`: purged (the id is forgotten and may register afresh); else soft-deleted. */
  readonly 'device.deleted': { readonly id: string; readonly hard: boolean; readonly actor: string };
  /** `cascade`: linked devices revoked with it. */
  readonly 'device.revoked': {
    readonly id: string;
    readonly cascade: readonly string[];
    readonly actor: string;
  };
  readonly 'device.id-changed': { readonly oldId: string; readonly newId: string; readonly actor: string };
  /** A new audit chain entry (never its details: GET /api/v1/audit applies the reader's redaction). */
  readonly 'audit.appended': {
    /** The entry's seq, as in GET /api/v1/audit. */
    readonly id: string;
    readonly action: string;
    readonly actor: { readonly type: string; readonly id: string | null };
    readonly target: { readonly type: string; readonly id: string | null } | null;
    readonly at: string;
  };
  /** The live relay nodes changed (joined, left, draining, load): the whole list, in node id order. */
  readonly 'relay.changed': { readonly nodes: readonly RelayNodeSummary[] };
  readonly resync: { readonly reason: ResyncReason; readonly scope: readonly ResyncScope[] };
}

export type LiveMessageType = keyof LiveMessageData;

export type LiveMessage = {
  [K in LiveMessageType]: {
    readonly type: K;
    /** When the api sent it (ISO 8601). */
    readonly at: string;
    readonly data: LiveMessageData[K];
  };
}[LiveMessageType];

/**
 * Who may receive each frame type; `null`: every console user. Relay nodes go to whoever sees devices:
 * the addresses are what every RustDesk client is handed anyway.
 */
export const LIVE_MESSAGE_PERMISSIONS: Readonly<Record<LiveMessageType, Permission | null>> = {
  hello: null,
  'device.online': 'device.view',
  'device.offline': 'device.view',
  'devices.changed': 'device.view',
  'device.banned': 'device.view',
  'device.unbanned': 'device.view',
  'device.approved': 'device.view',
  'device.deleted': 'device.view',
  'device.revoked': 'device.view',
  'device.id-changed': 'device.view',
  'audit.appended': 'audit.view',
  'relay.changed': 'device.view',
  resync: null,
};

export const LIVE_MESSAGE_TYPES = Object.keys(LIVE_MESSAGE_PERMISSIONS) as LiveMessageType[];

/** Close codes the api uses besides the standard ones (1001 going away, 1009 too big, 1013 too slow). */
export const LIVE_CLOSE = {
  /** The session ended (logout, revoked, expired, idle, user disabled): sign in again, do not retry. */
  sessionEnded: 4401,
  /** The user's role or must-change-password state changed: reconnect to get the new `hello`. */
  accessChanged: 4403,
  /** The client did not keep up (LIVE_MAX_BUFFERED_BYTES): reconnect and refetch. Standard "try again later". */
  tooSlow: 1013,
  goingAway: 1001,
} as const;

export function liveMessage<K extends LiveMessageType>(
  type: K,
  data: LiveMessageData[K],
  at: Date,
): LiveMessage {
  return { type, at: at.toISOString(), data } as LiveMessage;
}
