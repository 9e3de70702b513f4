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

// Reads a ticket in one command (one round trip, one reply to parse, where MULTI/EXEC costs four or
// five): { remaining TTL, fields }, -2 for no key, -3 for a key of another type. With ARGV[1] = '1'
// the key is deleted in the same step, so a uuid is handed out once.
const READ_SCRIPT = `
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then return {-2} end
if kind ~= 'hash' then
  if ARGV[1] == '1' then redis.call('DEL', KEYS[1]) end
  return {-3}
end
local fields = redis.call('HGETALL', KEYS[1])
local remaining = redis.call('PTTL', KEYS[1])
if ARGV[1] == '1' then redis.call('DEL', KEYS[1]) end
return {remaining, fields}
`;
const NO_KEY = -2;
const WRONG_TYPE = -3;

interface TicketRedis extends Redis {
  readRelayTicket(key: string, remove: '0' | '1'): Promise<unknown>;
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
    if (typeof this.redis.readRelayTicket !== 'function') {
      this.redis.defineCommand('readRelayTicket', { numberOfKeys: 1, lua: READ_SCRIPT });
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
    return this.read(uuid, '0');
  }

  /** Relay side: the ticket, removed in the same step so a uuid is admitted once. */
  async take(uuid: string): Promise<StoredRelayTicket | undefined> {
    return this.read(uuid, '1');
  }

  /** Relay side: the devices a session carries, [] without a ticket. */
  async peersOf(uuid: string): Promise<readonly string[]> {
    return (await this.get(uuid))?.peers ?? [];
  }

  private async write(uuid: string, peers: readonly string[], relay: string): Promise<void> {
    await connectIfLazy(this.redis);
    await this.redis.issueRelayTicket(this.keys.ticket(uuid), this.ttlMs, relay, MAX_TICKET_PEERS, ...peers);
  }

  private async read(uuid: string, remove: '0' | '1'): Promise<StoredRelayTicket | undefined> {
    if (!isRelayUuid(uuid)) return undefined;
    await connectIfLazy(this.redis);
    return this.decode(uuid, await this.redis.readRelayTicket(this.keys.ticket(uuid), remove));
  }

  private decode(uuid: string, reply: unknown): StoredRelayTicket | undefined {
    const [remaining, fields] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (remaining === NO_KEY) return undefined;
    if (remaining === WRONG_TYPE || typeof remaining !== 'number' || !isStringArray(fields)) {
      // Someone wrote something else under our key: no ticket, and say so rather than throw at the relay.
      this.options.logger.warn({ uuid, key: this.keys.ticket(uuid) }, 'malformed relay ticket ignored');
      return undefined;
    }
    const hash = new Map<string, string>();
    for (let index = 0; index + 1 < fields.length; index += 2) {
      hash.set(fields[index] as string, fields[index + 1] as string);
    }
    const relay = hash.get('relay');
    if (relay === undefined) {
      this.options.logger.warn({ uuid, key: this.keys.ticket(uuid) }, 'malformed relay ticket ignored');
      return undefined;
    }
    const peers = [...hash.keys()]
      .filter((field) => field.startsWith(PEER_FIELD))
      .map((field) => field.slice(PEER_FIELD.length));
    // -1 (no TTL) cannot come from issue(); treat it as expiring now rather than never.
    const expiresAt = new Date(this.now() + Math.max(remaining, 0));
    return { uuid, peers, relay, expiresAt };
  }

  private count(outcome: IssueOutcome): void {
    this.issued?.inc({ outcome });
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
