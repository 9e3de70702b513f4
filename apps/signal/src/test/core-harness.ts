import { RecordingAuditSink } from '@switchboard/audit-queue';
import { generateIdentityKeyPair, type IdentityKeyPair, type ServerKey } from '@switchboard/crypto';
import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';
import { decodeRendezvous, encodeRendezvous, type RendezvousPayload } from '@switchboard/protocol';
import { streamPair } from '@switchboard/test-net';

import { type ConnAuditRefPort } from '../caller/conn-audit-refs';
import { type Clock } from '../clock';
import { type Listener } from '../connection';
import { StaticRelayPicker } from '../defaults';
import {
  type AccessDecision,
  type DeviceAccessPort,
  type DeviceRegistration,
  type DeviceWriterPort,
  type Refusal,
  type RelayTicket,
  type RelayTicketPort,
  type StoredIdentity,
  type StoredUuidMatch,
} from '../ports';
import { type ApiProxyPort } from '../rendezvous-context';
import { SignalCore, type SignalCoreOptions, type SignalLimits } from '../signal-core';
import { FramedClient } from './rendezvous-client';

// Test doubles at the core's seams (ports.ts) and a core wired to them, for handler tests over
// in-memory duplex pairs and for integration tests over real sockets.

export const silentLogger = createLogger({ name: 'signal-test', level: 'silent' });

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  constructor(private current = 1_000_000) {}

  now(): number {
    return this.current;
  }

  micros(): bigint {
    return BigInt(this.current) * 1000n;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

/** An access policy the test sets per id; `deny` also fires onDenied as the real one does on a ban event. */
export class ScriptedAccess implements DeviceAccessPort {
  readonly registration = new Map<string, Refusal>();
  readonly reachability = new Map<string, Refusal>();
  /** Ids with a row in Postgres (the live peer map may not hold them). */
  readonly known = new Set<string>();
  private readonly listeners: ((ids: readonly string[], refusal: Refusal) => void)[] = [];

  checkRegistration(id: string): AccessDecision {
    const refusal = this.registration.get(id);
    return refusal === undefined ? { allowed: true } : { allowed: false, refusal };
  }

  checkReachable(id: string): AccessDecision {
    const refusal = this.reachability.get(id) ?? this.registration.get(id);
    return refusal === undefined ? { allowed: true } : { allowed: false, refusal };
  }

  isKnownDevice(id: string): boolean {
    return this.known.has(id);
  }

  /** What Postgres holds for ids the live peer map may not (the restart case). */
  readonly stored = new Map<string, StoredIdentity>();
  /** Set to make reads of stored identities fail, as while Postgres is down. */
  storedUnreadable: Error | undefined;
  /** The registration policy's answer to a key change (open allows it). */
  keyChangeAllowed = true;

  storedUuidMatch(id: string, uuid: Uint8Array): StoredUuidMatch {
    const stored = this.stored.get(id);
    if (stored === undefined) return this.storedUnreadable === undefined ? 'none' : 'maybe-same';
    return Buffer.from(stored.uuid).equals(uuid) ? 'maybe-same' : 'different';
  }

  readStoredIdentity(id: string): Promise<StoredIdentity | null> {
    if (this.storedUnreadable !== undefined) return Promise.reject(this.storedUnreadable);
    return Promise.resolve(this.stored.get(id) ?? null);
  }

  allowsKeyChange(): boolean {
    return this.keyChangeAllowed;
  }

  onDenied(listener: (ids: readonly string[], refusal: Refusal) => void): void {
    this.listeners.push(listener);
  }

  deny(ids: string[], refusal: Refusal): void {
    for (const id of ids) this.registration.set(id, refusal);
    for (const listener of this.listeners) listener(ids, refusal);
  }
}

export class RecordingWriter implements DeviceWriterPort {
  readonly registrations: DeviceRegistration[] = [];
  readonly seen: { id: string; ip: string }[] = [];
  readonly idChanges: { oldId: string; newId: string }[] = [];

  recordRegistration(registration: DeviceRegistration): void {
    this.registrations.push(registration);
  }

  recordSeen(id: string, ip: string): void {
    this.seen.push({ id, ip });
  }

  recordIdChange(oldId: string, newId: string): void {
    this.idChanges.push({ oldId, newId });
  }
}

export class RecordingTickets implements RelayTicketPort {
  readonly issued: RelayTicket[] = [];

  issue(ticket: RelayTicket): void {
    this.issued.push(ticket);
  }
}

export interface SentDatagram {
  readonly address: string;
  readonly port: number;
  readonly bytes: Buffer;
  readonly message: RendezvousPayload | undefined;
}

export const RELAY = 'relay.example.net:21117';

// Generating a key pair takes tweetnacl a while; one per test process is plenty.
let sharedIdentity: IdentityKeyPair | undefined;
export function testIdentity(): IdentityKeyPair {
  return (sharedIdentity ??= generateIdentityKeyPair());
}

export interface HarnessOptions {
  /** 'signing' (the default) loads a fresh key pair with licence check; 'none' has neither. */
  key?: 'signing' | 'none' | ServerKey;
  limits?: Partial<SignalLimits>;
  clock?: Clock;
  apiProxy?: ApiProxyPort;
  auditRefs?: ConnAuditRefPort;
  registrationRefusals?: SignalCoreOptions['registrationRefusals'];
}

export class CoreHarness {
  readonly registry: Registry = createMetricsRegistry({ defaultMetrics: false });
  readonly access = new ScriptedAccess();
  readonly writer = new RecordingWriter();
  readonly tickets = new RecordingTickets();
  readonly audit = new RecordingAuditSink();
  readonly datagrams: SentDatagram[] = [];
  readonly identity: IdentityKeyPair | undefined;
  readonly serverKey: ServerKey;
  readonly core: SignalCore;

  constructor(options: HarnessOptions = {}) {
    if (options.key === 'none') this.serverKey = { licenceKey: undefined, signingKeyPair: undefined };
    else if (options.key === undefined || options.key === 'signing') {
      const pair = testIdentity();
      this.serverKey = { licenceKey: Buffer.from(pair.publicKey).toString('base64'), signingKeyPair: pair };
    } else this.serverKey = options.key;
    this.identity = this.serverKey.signingKeyPair;
    this.core = new SignalCore({
      logger: silentLogger,
      registry: this.registry,
      serverKey: this.serverKey,
      access: this.access,
      writer: this.writer,
      relays: new StaticRelayPicker([RELAY]),
      tickets: this.tickets,
      audit: this.audit,
      limits: options.limits,
      clock: options.clock,
      apiProxy: options.apiProxy,
      auditRefs: options.auditRefs,
      registrationRefusals: options.registrationRefusals,
    });
    this.core.attachDatagramSender({
      send: (payload, address, port) => {
        const bytes = Buffer.from(payload);
        const decoded = decodeRendezvous(bytes);
        this.datagrams.push({ address, port, bytes, message: decoded.ok ? decoded.payload : undefined });
      },
    });
  }

  /** The licence key clients must present ('' when there is no check). */
  get licence(): string {
    return this.serverKey.licenceKey ?? '';
  }

  connect(listener: Listener, remote: { address: string; port: number }): FramedClient {
    const { server, client } = streamPair();
    this.core.handle(server, listener, remote);
    return new FramedClient(client);
  }

  /** Sends one datagram from `address:port` and returns the datagrams sent back to it. */
  udp(message: RendezvousPayload | Buffer, address: string, port: number): SentDatagram[] {
    const before = this.datagrams.length;
    const bytes = Buffer.isBuffer(message) ? message : encodeRendezvous(message);
    this.core.handleDatagram(bytes, address, port);
    return this.datagrams.slice(before).filter((sent) => sent.address === address && sent.port === port);
  }

  /** The metric's value summed over every series matching `labels`. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const values = (await this.registry.getSingleMetric(name)?.get())?.values ?? [];
    return values
      .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
      .reduce((sum, value) => sum + value.value, 0);
  }

  close(): void {
    this.core.closeAll();
  }
}

/** A peer identity for tests: a 32-byte Ed25519 public key and a machine uuid. */
export function peerIdentity(seed: number): { uuid: Buffer; pk: Buffer } {
  return {
    uuid: Buffer.from(`machine-uid-${seed.toString().padStart(4, '0')}`),
    pk: Buffer.alloc(32, seed),
  };
}
