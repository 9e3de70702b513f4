import { type RendezvousPayload } from '@switchboard/protocol';

/** A live TCP/WS registration link (docs/protocol.md §5.11a) as the peer map sees it. */
export interface PeerLink {
  readonly closed: boolean;
  readonly remote: { readonly address: string; readonly port: number };
  sendMessage(payload: RendezvousPayload): void;
  destroy(reason: 'denied' | 'superseded'): void;
}

/** What a known device brings from Postgres at start: a record that starts expired (docs/protocol.md §5.1). */
export interface KnownPeer {
  readonly id: string;
  readonly uuid: Uint8Array;
  readonly pk: Uint8Array;
  /** Last IP seen, '' when never. */
  readonly ip: string;
}

const NEVER = Number.NEGATIVE_INFINITY;

/**
 * One peer, hbbs's in-memory record (rustdesk-server src/peer.rs Peer). Kept small and flat for the
 * 1M-peer target: a fixed set of fields (one hidden class), uuid and pk as latin1 strings (compact,
 * compared with ===), times as plain numbers, no timers or closures per peer.
 */
export class PeerRecord {
  /** Last UDP source address (or the link's remote address); '' before any. */
  address = '';
  /** Its port; 0 when the record came from Postgres (then `ip` is what counts, as in hbbs). */
  port = 0;
  /** The IP of the last accepted RegisterPk (hbbs info.ip). */
  ip = '';
  /** RegisterPk.uuid, latin1; '' until the first RegisterPk. */
  uuid = '';
  /** RegisterPk.pk, latin1; '' until the first RegisterPk. */
  pk = '';
  lastRegTime = NEVER;
  /** hbbs reg_pk: RegisterPk count in the current 6 s window, and when the last one came. */
  regPkCount = 0;
  regPkTime = NEVER;
  /** When DeviceWriterPort.recordSeen was last called, to coalesce heartbeats. */
  seenRecordedAt = NEVER;
  link: PeerLink | undefined = undefined;

  constructor(public id: string) {}

  get pkBytes(): Buffer {
    return Buffer.from(this.pk, 'latin1');
  }
}

/** Bytes as the latin1 string the peer record stores. */
export function bytesKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * The authoritative online state (docs/architecture.md "Registration"): id → PeerRecord. A peer is online
 * while its registration link lives or for `onlineWindowMs` (hbbs REG_TIMEOUT, 30 s) after its last
 * registration. Denied peers are removed. Unlike hbbs the map has a cap (`maxPeers`): RegisterPk over
 * UDP can come from forged addresses, so at the cap offline peers make room (their rows are in
 * Postgres, and their next RegisterPk reads them back); when every peer is online nothing new fits.
 */
export class PeerMap {
  private readonly peers = new Map<string, PeerRecord>();
  private readonly evictionBatch: number;

  constructor(
    readonly onlineWindowMs: number,
    readonly maxPeers = Number.POSITIVE_INFINITY,
  ) {
    // In batches, as rate-limit.ts evictOldest: a Map keeps deleted slots until it rehashes, so one
    // eviction per insert from the front would walk ever more of them.
    this.evictionBatch = Number.isFinite(maxPeers) ? Math.max(1, Math.ceil(maxPeers / 64)) : 1;
  }

  get size(): number {
    return this.peers.size;
  }

  get(id: string): PeerRecord | undefined {
    return this.peers.get(id);
  }

  has(id: string): boolean {
    return this.peers.has(id);
  }

  /** A new record, or undefined when the map is at its cap and no offline peer can make room. */
  create(id: string, now: number): PeerRecord | undefined {
    if (this.peers.size >= this.maxPeers && this.evictOffline(now) === 0) return undefined;
    const peer = new PeerRecord(id);
    this.peers.set(id, peer);
    return peer;
  }

  delete(id: string): PeerRecord | undefined {
    const peer = this.peers.get(id);
    if (peer) this.peers.delete(id);
    return peer;
  }

  /** Moves a record to a new id (id change, §5.9). False when `newId` is taken or `oldId` unknown. */
  rename(oldId: string, newId: string): boolean {
    const peer = this.peers.get(oldId);
    if (!peer || this.peers.has(newId)) return false;
    this.peers.delete(oldId);
    peer.id = newId;
    this.peers.set(newId, peer);
    return true;
  }

  /** Known devices from Postgres; ids already in memory keep their live record. */
  load(known: Iterable<KnownPeer>, now: number): number {
    let added = 0;
    for (const device of known) {
      if (this.peers.has(device.id)) continue;
      const peer = this.create(device.id, now);
      if (peer === undefined) break;
      peer.uuid = bytesKey(device.uuid);
      peer.pk = bytesKey(device.pk);
      peer.ip = device.ip;
      added++;
    }
    return added;
  }

  isOnline(peer: PeerRecord, now: number): boolean {
    return (peer.link !== undefined && !peer.link.closed) || now - peer.lastRegTime < this.onlineWindowMs;
  }

  /**
   * Forgets up to one batch of offline peers, oldest first (insertion order); online ones met on the
   * way go to the back, so each is looked at once per round. Returns how many were forgotten.
   */
  private evictOffline(now: number): number {
    let evicted = 0;
    let looked = 0;
    const maxLooks = this.evictionBatch * 4;
    for (const [id, peer] of this.peers) {
      if (evicted >= this.evictionBatch || looked++ >= maxLooks) break;
      this.peers.delete(id);
      if (this.isOnline(peer, now)) this.peers.set(id, peer);
      else evicted++;
    }
    return evicted;
  }

  /** O(n): for the metrics scrape, not for request paths. */
  countOnline(now: number): number {
    let online = 0;
    for (const peer of this.peers.values()) if (this.isOnline(peer, now)) online++;
    return online;
  }
}
