import { type Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';

import { connectIfLazy } from './lazy-connect';
import { type RegistryLogger, ThrottledWarning } from './registry-logger';
import { isPeerId, isRelayAddress, isRelayUuid, type RegistryKeys, registryKeys } from './registry-layout';

/** What signal knows when it brokers a relay (RelayTicket of apps/signal/src/ports.ts). */
export interface RelayTicketInput {
  readonly uuid: string;
  readonly peers: readonly string[];
  readonly relay: string;
}

export interface StoredRelayTicket {
  readonly uuid: string;
  /** Every peer id issued for this uuid so far. */
  readonly peers: readonly string[];
  /** The relay of the first issue that named one; '' when none did. */
  readonly relay: string;
  /** On the reader's clock, from the key's remaining TTL. */
  readonly expiresAt: Date;
}

export interface RelayTicketStoreOptions {
  readonly redis: Redis;
  readonly prefix?: string;
  /** A and B reach the relay within seconds of signal brokering it; clients retry with a new uuid. */
  readonly ttlMs?: number;
  /** Writes waiting on Redis beyond this are dropped (and counted), so a stalled Redis cannot grow memory. */
  readonly maxPendingWrites?: number;
  readonly logger: RegistryLogger;
  readonly registry?: Registry;
  /** Wall clock for expiresAt. */
  readonly now?: () => number;
}

export const DEFAULT_TICKET_TTL_MS = 60_000;
/** A session carries two devices; a uuid reused by a misbehaving client must not grow without bound. */
export const MAX_TICKET_PEERS = 16;
const DEFAULT_MAX_PENDING_WRITES = 10_000;
const FAILURE_LOG_INTERVAL_MS = 10_000;
const PEER_FIELD = 'peer:';

// One script so a merge is atomic: the first non-empty relay wins (both ends were told that one),
// peers are added up to the cap, the TTL restarts. A key of another type (garbage) is replaced.
const ISSUE_SCRIPT = `
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', KEYS[1]) end
if ARGV[2] ~= '' then
  local current = redis.call('HGET', KEYS[1], 'relay')
  if not current or current == '' then redis.call('HSET', KEYS[1], 'relay', ARGV[2]) end
else
  redis.call('HSETNX', KEYS[1], 'relay', '')
end
local peers = redis.call('HLEN', KEYS[1]) - 1
for i = 4, #ARGV do
  if peers >= tonumber(ARGV[3]) then break end
  peers = peers + redis.call('HSETNX', KEYS[1], '${PEER_FIELD}' .. ARGV[i], '1')
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return peers
`;

interface TicketRedis extends Redis {
  issueRelayTicket(
    key: string,
    ttlMs: number,
    relay: string,
    maxPeers: number,
    ...peers: string[]
  ): Promise<number>;
}

type IssueOutcome = 'stored' | 'failed' | 'invalid' | 'dropped';

/**
 * Short-lived relay tickets (ARCHITECTURE.md "Relay choice"): signal issues one per brokered relay,
 * fire-and-forget from the hot path; in strict mode the relay admits a uuid only with a ticket and
 * learns from it which devices the session carries. A RelayTicketPort of apps/signal/src/ports.ts.
 */
export class RelayTicketStore {
  private readonly redis: TicketRedis;
  private readonly keys: RegistryKeys;
  private readonly ttlMs: number;
  private readonly maxPendingWrites: number;
  private readonly now: () => number;
  private readonly failures: ThrottledWarning;
  private readonly rejects: ThrottledWarning;
  private readonly issued: Counter<'outcome'> | undefined;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: RelayTicketStoreOptions) {
    this.redis = options.redis as TicketRedis;
    if (typeof this.redis.issueRelayTicket !== 'function') {
      this.redis.defineCommand('issueRelayTicket', { numberOfKeys: 1, lua: ISSUE_SCRIPT });
    }
    this.keys = registryKeys(options.prefix);
    this.ttlMs = options.ttlMs ?? DEFAULT_TICKET_TTL_MS;
    this.maxPendingWrites = options.maxPendingWrites ?? DEFAULT_MAX_PENDING_WRITES;
    this.now = options.now ?? Date.now;
    const monotonic = () => performance.now();
    this.failures = new ThrottledWarning(
      options.logger,
      'relay ticket not stored',
      FAILURE_LOG_INTERVAL_MS,
      monotonic,
    );
    this.rejects = new ThrottledWarning(
      options.logger,
      'relay ticket refused: invalid uuid',
      FAILURE_LOG_INTERVAL_MS,
      monotonic,
    );
    this.issued = options.registry
      ? new Counter({
          name: 'relay_tickets_issued_total',
          help: 'Relay tickets signal tried to store, by outcome (stored, failed, invalid, dropped)',
          labelNames: ['outcome'] as const,
          registers: [options.registry],
        })
      : undefined;
  }

  /** Signal side: returns at once; the write happens in the background and a failure is logged and counted. */
  issue(ticket: RelayTicketInput): void {
    if (!isRelayUuid(ticket.uuid)) {
      this.count('invalid');
      this.rejects.warn({ uuid: ticket.uuid.slice(0, 80), peers: ticket.peers.slice(0, MAX_TICKET_PEERS) });
      return;
    }
    if (this.pending.size >= this.maxPendingWrites) {
      this.count('dropped');
      this.failures.warn({ uuid: ticket.uuid, reason: 'too many writes waiting on Redis' });
      return;
    }
    const peers = [...new Set(ticket.peers.filter(isPeerId))].slice(0, MAX_TICKET_PEERS);
    // The relay address can come from a client's message (B's RelayResponse); keep only a sane one.
    const relay = isRelayAddress(ticket.relay) ? ticket.relay : '';
    const write = this.write(ticket.uuid, peers, relay).then(
      () => {
        this.count('stored');
        this.failures.reset();
      },
      (error: unknown) => {
        this.count('failed');
        this.failures.warn({ err: error, uuid: ticket.uuid });
      },
    );
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }

  /** Resolves once every issue() so far has reached Redis or failed: for shutdown and tests. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Relay side: the ticket for this uuid, or undefined. Rejects only when Redis fails. */
  async get(uuid: string): Promise<StoredRelayTicket | undefined> {
    if (!isRelayUuid(uuid)) return undefined;
    await connectIfLazy(this.redis);
    const replies = await this.redis
      .multi()
      .hgetall(this.keys.ticket(uuid))
      .pttl(this.keys.ticket(uuid))
      .exec();
    return this.decode(uuid, replies);
  }

  /** Relay side: the ticket, removed in the same step so a uuid is admitted once. */
  async take(uuid: string): Promise<StoredRelayTicket | undefined> {
    if (!isRelayUuid(uuid)) return undefined;
    await connectIfLazy(this.redis);
    const key = this.keys.ticket(uuid);
    const replies = await this.redis.multi().hgetall(key).pttl(key).del(key).exec();
    return this.decode(uuid, replies);
  }

  /** Relay side: the devices a session carries, [] without a ticket. */
  async peersOf(uuid: string): Promise<readonly string[]> {
    return (await this.get(uuid))?.peers ?? [];
  }

  private async write(uuid: string, peers: readonly string[], relay: string): Promise<void> {
    await connectIfLazy(this.redis);
    await this.redis.issueRelayTicket(this.keys.ticket(uuid), this.ttlMs, relay, MAX_TICKET_PEERS, ...peers);
  }

  private decode(
    uuid: string,
    replies: Array<[error: Error | null, result: unknown]> | null,
  ): StoredRelayTicket | undefined {
    if (replies === null) throw new Error('Redis transaction was aborted');
    const [[hashError, hash] = [null, null], [ttlError, remaining] = [null, -2]] = replies;
    if (ttlError) throw ttlError;
    if (hashError || !isStringRecord(hash) || typeof remaining !== 'number') {
      // Someone wrote something else under our key: no ticket, and say so rather than throw at the relay.
      this.options.logger.warn(
        { uuid, err: hashError ?? undefined, key: this.keys.ticket(uuid) },
        'malformed relay ticket ignored',
      );
      return undefined;
    }
    if (remaining === -2) return undefined;
    if (!('relay' in hash)) {
      this.options.logger.warn({ uuid, key: this.keys.ticket(uuid) }, 'malformed relay ticket ignored');
      return undefined;
    }
    const peers = Object.keys(hash)
      .filter((field) => field.startsWith(PEER_FIELD))
      .map((field) => field.slice(PEER_FIELD.length));
    // -1 (no TTL) cannot come from issue(); treat it as expiring now rather than never.
    const expiresAt = new Date(this.now() + Math.max(remaining, 0));
    return { uuid, peers, relay: hash.relay ?? '', expiresAt };
  }

  private count(outcome: IssueOutcome): void {
    this.issued?.inc({ outcome });
  }
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
