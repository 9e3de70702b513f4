import { type Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';

import { isDeviceId, isRelayUuid } from '@switchboard/domain';

import { connectIfLazy } from './lazy-connect';
import { type RegistryLogger, ThrottledWarning } from './registry-logger';
import { isRelayAddress, type RegistryKeys, registryKeys } from './registry-layout';
import { decodeRelayTicket, encodeRelayTicket, type TicketDecodeFailure } from './relay-ticket';

/** What signal knows when B answers A's request (RelayTicket of apps/signal/src/ports.ts). */
export interface RelayTicketInput {
  readonly uuid: string;
  readonly peers: readonly string[];
  readonly relay: string;
  /** A's source address as signal saw it. */
  readonly requesterIp: string;
  /** B's source address as signal saw its answer. */
  readonly answererIp: string;
}

export interface StoredRelayTicket {
  readonly uuid: string;
  /** The device A asked for. */
  readonly peers: readonly string[];
  /** The relay both ends were told to dial; '' when the answer named none usable. */
  readonly relay: string;
  readonly requesterIp: string;
  readonly answererIp: string;
  /** Signal's wall clock: when the ticket stops being honoured, whatever Redis's TTL says. */
  readonly expiresAt: Date;
}

export interface RelayTicketStoreOptions {
  readonly redis: Redis;
  readonly prefix?: string;
  /** A and B reach the relay within seconds of signal brokering it; clients retry with a new uuid. */
  readonly ttlMs?: number;
  /** Writes waiting on Redis beyond this are dropped (and counted), so a stalled Redis cannot grow memory. */
  readonly maxPendingWrites?: number;
  /** Signal: its 64-byte Ed25519 identity secret key. Without it nothing is issued. */
  readonly signingKey?: Uint8Array;
  /** Relay: signal's 32-byte public key. Without it nothing can be read. */
  readonly verifyKey?: Uint8Array;
  /** How far the relay's clock may be off signal's before a live ticket reads as expired. */
  readonly clockSkewMs?: number;
  readonly logger: RegistryLogger;
  readonly registry?: Registry;
  /** Wall clock for expiresAt. */
  readonly now?: () => number;
}

export const DEFAULT_TICKET_TTL_MS = 60_000;
export const DEFAULT_TICKET_CLOCK_SKEW_MS = 60_000;
/** A session carries two devices; a misbehaving issuer must not grow a ticket without bound. */
export const MAX_TICKET_PEERS = 16;
const DEFAULT_MAX_PENDING_WRITES = 10_000;
const FAILURE_LOG_INTERVAL_MS = 10_000;

// Reads a ticket in one command: the stored string, -2 for no key, -3 for a key of another type.
// With ARGV[1] = '1' the key is deleted in the same step, so a uuid is handed out once.
const READ_SCRIPT = `
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then return -2 end
if kind ~= 'string' then
  if ARGV[1] == '1' then redis.call('DEL', KEYS[1]) end
  return -3
end
local value = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then redis.call('DEL', KEYS[1]) end
return value
`;
const NO_KEY = -2;

interface TicketRedis extends Redis {
  readRelayTicket(key: string, remove: '0' | '1'): Promise<unknown>;
}

type IssueOutcome = 'stored' | 'failed' | 'invalid' | 'dropped' | 'unsigned';

/**
 * Short-lived relay tickets (docs/architecture.md "Relay tickets and strict mode"): signal issues one when
 * B answers A's relay request, signed, fire-and-forget from the hot path; in strict mode the relay
 * admits a uuid only with a ticket whose signature, node and source addresses check out. A
 * RelayTicketPort of apps/signal/src/ports.ts and a TicketSource of apps/relay/src/ports.ts.
 */
export class RelayTicketStore {
  private readonly redis: TicketRedis;
  private readonly keys: RegistryKeys;
  private readonly ttlMs: number;
  private readonly maxPendingWrites: number;
  private readonly clockSkewMs: number;
  private readonly now: () => number;
  private readonly failures: ThrottledWarning;
  private readonly rejects: ThrottledWarning;
  private readonly refusedReads: ThrottledWarning;
  private readonly issued: Counter<'outcome'> | undefined;
  private readonly refused: Counter<'reason'> | undefined;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: RelayTicketStoreOptions) {
    this.redis = options.redis as TicketRedis;
    if (typeof this.redis.readRelayTicket !== 'function') {
      this.redis.defineCommand('readRelayTicket', { numberOfKeys: 1, lua: READ_SCRIPT });
    }
    this.keys = registryKeys(options.prefix);
    this.ttlMs = options.ttlMs ?? DEFAULT_TICKET_TTL_MS;
    this.maxPendingWrites = options.maxPendingWrites ?? DEFAULT_MAX_PENDING_WRITES;
    this.clockSkewMs = options.clockSkewMs ?? DEFAULT_TICKET_CLOCK_SKEW_MS;
    this.now = options.now ?? Date.now;
    const monotonic = () => performance.now();
    const warning = (message: string) =>
      new ThrottledWarning(options.logger, message, FAILURE_LOG_INTERVAL_MS, monotonic);
    this.failures = warning('relay ticket not stored');
    this.rejects = warning('relay ticket refused: invalid uuid');
    this.refusedReads = warning(
      'relay ticket in Redis refused: not signed by signal for this uuid, or expired',
    );
    this.issued = options.registry
      ? new Counter({
          name: 'switchboard_tickets_issued_total',
          help: 'Relay tickets signal tried to store, by outcome (stored, failed, invalid, dropped, unsigned)',
          labelNames: ['outcome'] as const,
          registers: [options.registry],
        })
      : undefined;
    this.refused = options.registry
      ? new Counter({
          name: 'switchboard_tickets_refused_total',
          help: 'Tickets found in Redis that the relay did not honour, by reason (malformed, forged, expired)',
          labelNames: ['reason'] as const,
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
    const signingKey = this.options.signingKey;
    if (signingKey === undefined) {
      // Signal runs with a licence-only KEY: no identity key, so no relay could verify a ticket anyway.
      this.count('unsigned');
      this.failures.warn({ uuid: ticket.uuid, reason: 'signal has no signing key' });
      return;
    }
    if (this.pending.size >= this.maxPendingWrites) {
      this.count('dropped');
      this.failures.warn({ uuid: ticket.uuid, reason: 'too many writes waiting on Redis' });
      return;
    }
    const value = encodeRelayTicket(
      {
        uuid: ticket.uuid,
        peers: [...new Set(ticket.peers.filter(isDeviceId))].slice(0, MAX_TICKET_PEERS),
        // The relay address can come from a client's message; keep only a sane one.
        relay: isRelayAddress(ticket.relay) ? ticket.relay : '',
        requesterIp: ticket.requesterIp,
        answererIp: ticket.answererIp,
        expiresAt: this.now() + this.ttlMs,
      },
      signingKey,
    );
    const write = this.write(ticket.uuid, value).then(
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

  /** Relay side: the verified ticket for this uuid, or undefined. Rejects only when Redis fails. */
  async get(uuid: string): Promise<StoredRelayTicket | undefined> {
    return this.read(uuid, '0');
  }

  /** Relay side: the ticket, removed in the same step so a uuid is admitted once. */
  async take(uuid: string): Promise<StoredRelayTicket | undefined> {
    return this.read(uuid, '1');
  }

  /** Relay side: deletes the ticket of a uuid that paired on a ticket already verified. */
  async spend(uuid: string): Promise<void> {
    if (!isRelayUuid(uuid)) return;
    await connectIfLazy(this.redis);
    await this.redis.del(this.keys.ticket(uuid));
  }

  private async write(uuid: string, value: string): Promise<void> {
    await connectIfLazy(this.redis);
    await this.redis.set(this.keys.ticket(uuid), value, 'PX', this.ttlMs);
  }

  private async read(uuid: string, remove: '0' | '1'): Promise<StoredRelayTicket | undefined> {
    const verifyKey = this.options.verifyKey;
    if (verifyKey === undefined)
      throw new Error('RelayTicketStore: reading tickets needs signal’s public key');
    if (!isRelayUuid(uuid)) return undefined;
    await connectIfLazy(this.redis);
    const reply = await this.redis.readRelayTicket(this.keys.ticket(uuid), remove);
    if (reply === NO_KEY) return undefined;
    const decoded =
      typeof reply === 'string'
        ? decodeRelayTicket(reply, uuid, verifyKey, this.now(), this.clockSkewMs)
        : 'malformed';
    if (typeof decoded === 'string') {
      this.refuse(uuid, decoded);
      return undefined;
    }
    return { ...decoded, expiresAt: new Date(decoded.expiresAt) };
  }

  private refuse(uuid: string, reason: TicketDecodeFailure): void {
    this.refused?.inc({ reason });
    this.refusedReads.warn({ uuid, reason, key: this.keys.ticket(uuid) });
  }

  private count(outcome: IssueOutcome): void {
    this.issued?.inc({ outcome });
  }
}
