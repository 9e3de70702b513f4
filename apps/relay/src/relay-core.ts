import { type Duplex } from 'node:stream';

import {
  type AuditSink,
  NO_AUDIT,
  RELAY_SESSION_REFUSALS,
  type RelaySessionRefusal,
} from '@switchboard/audit-queue';
import { isDeviceId, isRelayUuid } from '@switchboard/domain';
import { type Logger, type Registry } from '@switchboard/observability';
import { relayAddressKey } from '@switchboard/relay-registry';
import {
  DEFAULT_IPV6_PREFIX_LENGTH,
  OpenConnections,
  type PeerEndpoint,
  rateLimitKey,
} from '@switchboard/transport';

import { type BandwidthLimits, SessionBudget, shouldDowngrade, TokenBucket } from './bandwidth';
import { DeviceIndex } from './device-index';
import { completesTicket, type TicketSides, type WaitingPeer, WaitingRoom } from './pairing';
import {
  type CloseReason,
  RelayConnection,
  type RelayConnectionLimits,
  type Transport,
} from './relay-connection';
import { createRelayMetrics, type RelayMetrics, type Refusal } from './relay-metrics';
import { parseRelayRequest, type RelayRequest } from './relay-request';
import { RelaySession } from './relay-session';
import { type DeviceAccess, type IpAccess, type RelayTicketView, type TicketSource } from './ports';
import { type ChunkReader, StreamChunkReader } from './transport/chunk-reader';

export interface RelayLimits extends RelayConnectionLimits {
  /** hbbr drops a connection whose partner has not come after 30 s. */
  readonly unpairedTimeoutMs: number;
  /** hbbr closes a pair when neither side has sent for 30 s. */
  readonly idleTimeoutMs: number;
  /** How often sessions are checked for idleness, the blocklist, the blacklist and the downgrade rule. */
  readonly sweepIntervalMs: number;
  /** Open connections per client IP; an IPv6 client counts by its network (rateLimitKey). */
  readonly maxConnectionsPerIp: number;
  readonly ipv6PrefixLength: number;
  /** Open connections of all clients together, so no crowd of addresses can exhaust the process. */
  readonly maxConnections: number;
  /**
   * Strict mode: how long a uuid without a ticket is looked up again before it is refused. Clients
   * send RelayResponse to signal and dial the relay at once (rustdesk src/server.rs), so the first
   * end can arrive before signal's ticket write has reached Redis.
   */
  readonly ticketWaitMs: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  // hbbr's timings (RUSTDESK.md §6; rustdesk-server src/relay_server.rs).
  firstFrameTimeoutMs: 30_000,
  maxFirstFrameBytes: 16 * 1024,
  closeGraceMs: 5_000,
  unpairedTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  // hbbr rechecks the blocklist every second and idleness every 3 s; one sweep does both.
  sweepIntervalMs: 1_000,
  maxConnectionsPerIp: 256,
  ipv6PrefixLength: DEFAULT_IPV6_PREFIX_LENGTH,
  // Two per session: room for a full node (RELAY_CAPACITY 2000) and a flood's worth of strangers.
  maxConnections: 10_000,
  ticketWaitMs: 3_000,
};

export const DEFAULT_BANDWIDTH_LIMITS: BandwidthLimits = {
  totalMbps: 1024,
  singleMbps: 128,
  limitSpeedMbps: 32,
  downgradeThreshold: 0.66,
  downgradeStartMs: 1_800_000,
};

export interface RelayCoreOptions {
  logger: Logger;
  registry: Registry;
  limits?: Partial<RelayLimits>;
  bandwidth?: Partial<BandwidthLimits>;
  /** hbbr `-k`: RequestRelay must carry exactly this; undefined for no check. */
  licenceKey?: string;
  /** Admit only uuids signal issued a ticket for (default). Off: any uuid, as hbbr. */
  strict?: boolean;
  /** Required in strict mode; in compatibility mode used, when reachable, to learn a session's devices. */
  tickets?: TicketSource;
  devices?: DeviceAccess;
  ips?: IpAccess;
  /** Where ban cuts and refused sessions are audited (libs/audit-queue); none by default. */
  audit?: AuditSink;
  /** Strict mode: which tickets this node honours. */
  ticketPolicy?: TicketPolicy;
  /** Monotonic milliseconds. */
  clock?: () => number;
}

/** How a strict relay checks a signed ticket (ARCHITECTURE.md "Relay tickets and strict mode"). */
export interface TicketPolicy {
  /** RELAY_PUBLIC_ADDR and RELAY_ALIASES: a ticket naming any other relay is refused here. */
  readonly addresses: readonly string[];
  /** RELAY_TICKET_IP_CHECK: each end must come from the network signal saw it on. */
  readonly checkIp: boolean;
  /** RATE_LIMIT_IPV6_PREFIX: an IPv6 end matches anywhere in its prefix (privacy addresses). */
  readonly ipv6PrefixLength: number;
}

const ANY_SIDE: TicketSides = { requester: true, answerer: true };

/** Refusals that say someone tried a session signal did not broker for them, or a denied device. */
const AUDITED_REFUSALS: ReadonlySet<string> = new Set(RELAY_SESSION_REFUSALS);

function isAudited(refusal: Refusal): refusal is RelaySessionRefusal {
  return AUDITED_REFUSALS.has(refusal);
}

const NOBODY_DENIED: DeviceAccess = { isDenied: () => false };
const NO_IP_LISTS: IpAccess = { isBlocked: () => false, isBlacklisted: () => false };

type Party = RelaySession | WaitingPeer;

interface ArrivingEnd {
  readonly connection: RelayConnection;
  readonly buffered: Buffer;
  readonly named: string[];
  readonly isController: boolean;
}

/**
 * The transport-agnostic relay (hbbr): TCP and WebSocket clients arrive as byte streams. A client's
 * RequestRelay is checked (licence key, uuid, ticket, deny set), then it waits for the other end of
 * its uuid and the two are piped together. The relay never sends a byte of its own: refusals are a
 * silent close, and the first bytes each end sees are the other end's.
 */
export class RelayCore {
  readonly limits: RelayLimits;
  readonly bandwidth: BandwidthLimits;
  private readonly logger: Logger;
  private readonly metrics: RelayMetrics;
  private readonly strict: boolean;
  private readonly tickets: TicketSource | undefined;
  private readonly devices: DeviceAccess;
  private readonly ips: IpAccess;
  private readonly audit: AuditSink;
  private readonly clock: () => number;
  private readonly ticketPolicy: TicketPolicy | undefined;
  private readonly ownAddresses: ReadonlySet<string>;
  private readonly connections = new Set<RelayConnection>();
  private readonly parties = new Map<RelayConnection, Party>();
  private readonly sessions = new Set<RelaySession>();
  private readonly carriers = new DeviceIndex<Party>();
  private readonly waiting: WaitingRoom;
  /** Sockets past the accept gate, per rate-limit key and all together. */
  private readonly open = new OpenConnections();
  private readonly totalBucket: TokenBucket;
  private readonly sweeper: NodeJS.Timeout;
  /** Ticket reads in flight by uuid: both ends of a pair often arrive during the same lookup. */
  private readonly ticketLookups = new Map<string, ReturnType<TicketSource['get']>>();
  private bytesOfEndedSessions = 0;
  private idleWaiters: (() => void)[] = [];
  private accepting = true;
  private ticketFailureLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: RelayCoreOptions) {
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...options.limits };
    this.bandwidth = { ...DEFAULT_BANDWIDTH_LIMITS, ...options.bandwidth };
    this.logger = options.logger.child({ component: 'relay-core' });
    this.metrics = createRelayMetrics(options.registry);
    this.strict = options.strict ?? true;
    this.tickets = options.tickets;
    if (this.strict && !this.tickets) throw new Error('strict mode needs a ticket source');
    this.devices = options.devices ?? NOBODY_DENIED;
    this.ips = options.ips ?? NO_IP_LISTS;
    this.audit = options.audit ?? NO_AUDIT;
    this.clock = options.clock ?? (() => performance.now());
    this.ticketPolicy = options.ticketPolicy;
    this.ownAddresses = new Set((options.ticketPolicy?.addresses ?? []).map(relayAddressKey));
    this.totalBucket = new TokenBucket(this.bandwidth.totalMbps, this.clock());
    this.waiting = new WaitingRoom(this.limits.unpairedTimeoutMs, (peer) => this.onUnpairedTimeout(peer));
    this.sweeper = setInterval(() => this.sweep(), this.limits.sweepIntervalMs);
    this.sweeper.unref();
  }

  get liveConnections(): number {
    return this.connections.size;
  }

  get liveSessions(): number {
    return this.sessions.size;
  }

  get waitingConnections(): number {
    return this.waiting.size;
  }

  /** Bytes relayed since start, both directions, live sessions included. */
  get bytesRelayed(): number {
    let live = 0;
    for (const session of this.sessions) live += session.bytes;
    return this.bytesOfEndedSessions + live;
  }

  /**
   * The accept-time gate, before any byte is read (hbbr drops blocklisted IPs at accept): draining,
   * the blocklist, the global cap and the per-IP cap. Returns the release to call when that socket
   * closes, or undefined when the socket must be dropped.
   */
  admitSocket(address: string): (() => void) | undefined {
    const key = rateLimitKey(address, this.limits.ipv6PrefixLength);
    const refusal = !this.accepting
      ? 'draining'
      : this.ips.isBlocked(address)
        ? 'blocklist'
        : this.open.total >= this.limits.maxConnections
          ? 'connection-cap'
          : this.open.countFor(key) >= this.limits.maxConnectionsPerIp
            ? 'per-ip-limit'
            : undefined;
    if (refusal !== undefined) {
      this.metrics.refusals.inc({ reason: refusal });
      this.logger.debug({ address, refusal }, 'connection dropped at accept');
      return undefined;
    }
    return this.open.take(key).release;
  }

  /** `reader`: how to read `stream`, by default through its 'data' events. */
  handle(
    stream: Duplex,
    transport: Transport,
    remote: PeerEndpoint,
    reader: ChunkReader = new StreamChunkReader(stream),
  ): void {
    this.metrics.accepted.inc({ transport });
    const connection = new RelayConnection(
      stream,
      reader,
      transport,
      remote,
      this.limits,
      {
        firstFrame: (conn, frame, rest) => this.onFirstFrame(conn, frame, rest),
        closed: (conn, reason) => this.forget(conn, reason),
      },
      this.logger,
    );
    this.connections.add(connection);
    this.metrics.open.inc({ transport });
    if (!this.accepting) {
      this.refuse(connection, 'draining');
      return;
    }
    connection.start();
  }

  /**
   * Closes at once every session and waiting connection that carries one of `deviceIds` (a ban,
   * revoke or delete just happened, or a resync found them denied). Returns how many were closed.
   */
  cutDevices(deviceIds: Iterable<string>): number {
    const carriers = this.carriers.carrying(deviceIds);
    for (const party of carriers) {
      if (party instanceof RelaySession) {
        party.connections[0].logger.info(
          { uuid: party.uuid, devices: [...party.devices] },
          'session cut: device denied',
        );
        this.endSession(party, 'denied');
        this.auditBanCut(party);
      } else {
        this.refuse(party.connection, 'denied-device', { uuid: party.uuid, devices: [...party.devices] });
      }
    }
    return carriers.size;
  }

  /** Applies a blocklist change now rather than at the next sweep. */
  enforceBlocklist(): void {
    for (const connection of [...this.connections]) {
      if (!connection.closed && this.ips.isBlocked(connection.remote.address)) this.dropBlocked(connection);
    }
  }

  /**
   * Stops taking connections, closes the unpaired ones (with the listeners closed their partner can
   * no longer come), lets paired sessions run for up to `deadlineMs`, then cuts the rest. Resolves
   * with how many sessions had to be cut.
   */
  async drain(deadlineMs: number): Promise<number> {
    this.accepting = false;
    for (const connection of [...this.connections]) {
      if (connection.phase !== 'paired') connection.destroy('shutdown');
    }
    if (this.connections.size > 0) {
      this.logger.info({ sessions: this.sessions.size, deadlineMs }, 'draining live sessions');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(timer);
    }
    const cut = this.sessions.size;
    for (const session of [...this.sessions]) this.endSession(session, 'shutdown');
    for (const connection of [...this.connections]) connection.destroy('shutdown');
    clearInterval(this.sweeper);
    if (cut > 0) this.logger.warn({ cut }, 'drain deadline reached, cut the remaining sessions');
    return cut;
  }

  private onFirstFrame(connection: RelayConnection, frame: Buffer, rest: Buffer): void {
    const parsed = parseRelayRequest(frame, this.options.licenceKey);
    if (!parsed.ok) {
      this.refuse(connection, parsed.refusal);
      return;
    }
    this.admit(connection, parsed.request, rest).catch((error: unknown) => {
      connection.logger.error({ err: error }, 'admission failed, closing');
      connection.destroy('stream-error');
    });
  }

  private async admit(connection: RelayConnection, request: RelayRequest, rest: Buffer): Promise<void> {
    const { uuid } = request;
    const named = isDeviceId(request.peerId) ? [request.peerId] : [];
    const arriving = { connection, buffered: rest, named, isController: request.peerId !== '' };
    if (named.some((id) => this.devices.isDenied(id))) {
      this.refuse(connection, 'denied-device', { uuid, devices: named });
      return;
    }
    // The partner was admitted already: checked against its ticket, without another lookup.
    if (this.joinPartner(uuid, arriving)) return;
    const ticket = await this.ticketFor(uuid, connection);
    if (connection.closed) return;
    // Both ends may have been looking their ticket up at the same time; the first admitted vouches.
    if (this.joinPartner(uuid, arriving)) return;
    if (this.strict && ticket === 'unavailable') {
      this.refuse(connection, 'ticket-unavailable', { uuid });
      return;
    }
    if (this.strict && ticket === 'none') {
      this.refuse(connection, 'no-ticket', { uuid });
      return;
    }
    let admission: WaitingPeer['admission'];
    if (this.strict && typeof ticket === 'object') {
      const sides = this.sidesOf(ticket, connection);
      const refusal = !this.isOwnAddress(ticket.relay)
        ? 'wrong-relay'
        : !sides.requester && !sides.answerer
          ? 'wrong-address'
          : undefined;
      if (refusal !== undefined) {
        this.refuse(connection, refusal, { uuid, devices: ticket.peers });
        return;
      }
      admission = { ticket, sides };
    }
    const peers = typeof ticket === 'object' ? ticket.peers : [];
    const devices = new Set([...peers, ...named]);
    if ([...devices].some((id) => this.devices.isDenied(id))) {
      this.refuse(connection, 'denied-device', { uuid, devices: [...devices] });
      return;
    }
    const waiter: WaitingPeer = {
      uuid,
      connection,
      buffered: rest,
      devices,
      isController: arriving.isController,
      admission,
    };
    connection.phase = 'waiting';
    this.waiting.wait(waiter);
    this.parties.set(connection, waiter);
    this.carriers.add(devices, waiter);
    this.metrics.waiting.set(this.waiting.size);
    connection.logger.debug({ uuid, devices: [...devices] }, 'waiting for the other end');
  }

  /**
   * Pairs `arriving` with the end waiting on `uuid`, if there is one. Under a ticket the arriving end
   * must come from the other side of it than the waiting one (A's network if B waits, and the other
   * way round), or two connections of one party could pair. True when `arriving` was dealt with.
   */
  private joinPartner(uuid: string, arriving: ArrivingEnd): boolean {
    const partner = this.waiting.peek(uuid);
    if (partner === undefined) return false;
    const admission = partner.admission;
    if (admission && !completesTicket(admission.sides, this.sidesOf(admission.ticket, arriving.connection))) {
      this.refuse(arriving.connection, 'wrong-address', { uuid, devices: admission.ticket.peers });
      return true;
    }
    this.waiting.take(uuid);
    this.pair(partner, arriving);
    return true;
  }

  private sidesOf(ticket: RelayTicketView, connection: RelayConnection): TicketSides {
    const policy = this.ticketPolicy;
    if (policy === undefined || !policy.checkIp) return ANY_SIDE;
    const network = (address: string) => rateLimitKey(address, policy.ipv6PrefixLength);
    const from = network(connection.remote.address);
    return { requester: from === network(ticket.requesterIp), answerer: from === network(ticket.answererIp) };
  }

  private isOwnAddress(relay: string): boolean {
    // Without a policy (tests of the pairing itself) any node is this one.
    return this.ticketPolicy === undefined || this.ownAddresses.has(relayAddressKey(relay));
  }

  private pair(waiter: WaitingPeer, arriving: ArrivingEnd): void {
    this.forgetWaiter(waiter);
    // hbbr has no notion of roles; if both or neither named a peer, call the later one the controller.
    const firstIsController = waiter.isController && !arriving.isController;
    const session = new RelaySession(
      waiter.uuid,
      { connection: waiter.connection, buffered: waiter.buffered, isController: firstIsController },
      { connection: arriving.connection, buffered: arriving.buffered, isController: !firstIsController },
      [...waiter.devices, ...arriving.named],
      new SessionBudget(this.bandwidth, this.totalBucket, this.clock, (kind) =>
        this.metrics.throttled.inc({ limit: kind }),
      ),
      this.clock(),
    );
    this.sessions.add(session);
    for (const connection of session.connections) this.parties.set(connection, session);
    this.carriers.add(session.devices, session);
    this.metrics.pairs.inc();
    this.metrics.sessions.set(this.sessions.size);
    this.applySpeedLimit(session);
    session.start();
    arriving.connection.logger.info(
      { uuid: session.uuid, partner: `${waiter.connection.remote.address}:${waiter.connection.remote.port}` },
      'paired',
    );
    if (isRelayUuid(session.uuid)) void this.consumeTicket(session, waiter.admission !== undefined);
  }

  /**
   * Deletes the ticket so its uuid admits no second pair. A pair admitted on a verified ticket only
   * deletes it (a second signature check per pair is CPU for nothing); otherwise (compatibility mode)
   * the ticket, if signal issued one, tells which devices the session carries, for ban cuts.
   */
  private async consumeTicket(session: RelaySession, admittedOnTicket: boolean): Promise<void> {
    const tickets = this.tickets;
    if (tickets === undefined) return;
    let peers: readonly string[];
    try {
      if (admittedOnTicket) {
        await tickets.spend(session.uuid);
        return;
      }
      peers = (await tickets.take(session.uuid))?.peers ?? [];
    } catch (error) {
      this.logTicketFailure(error, session.uuid);
      return;
    }
    if (!this.sessions.has(session)) return;
    const added = peers.filter((id) => !session.devices.has(id));
    for (const id of added) session.devices.add(id);
    this.carriers.add(added, session);
    if (added.some((id) => this.devices.isDenied(id))) {
      this.endSession(session, 'denied');
      this.auditBanCut(session);
    }
  }

  private async ticketFor(
    uuid: string,
    connection: RelayConnection,
  ): Promise<RelayTicketView | 'none' | 'unavailable'> {
    // A uuid that could not have been issued has no ticket; it is not looked up.
    if (!this.tickets || !isRelayUuid(uuid)) return 'none';
    const deadline = this.clock() + (this.strict ? this.limits.ticketWaitMs : 0);
    for (let pauseMs = 50; ; pauseMs *= 2) {
      try {
        const ticket = await this.lookUpTicket(this.tickets, uuid);
        if (ticket) return ticket;
      } catch (error) {
        this.logTicketFailure(error, uuid);
        return 'unavailable';
      }
      if (connection.closed || this.waiting.has(uuid) || this.clock() + pauseMs > deadline) return 'none';
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  /** One Redis read per uuid at a time, shared by every connection waiting on it. */
  private lookUpTicket(tickets: TicketSource, uuid: string): ReturnType<TicketSource['get']> {
    const pending = this.ticketLookups.get(uuid);
    if (pending) return pending;
    const lookup = tickets.get(uuid).finally(() => this.ticketLookups.delete(uuid));
    this.ticketLookups.set(uuid, lookup);
    return lookup;
  }

  private refuse(
    connection: RelayConnection,
    refusal: Refusal,
    context: { uuid?: string; devices?: readonly string[] } = {},
  ): void {
    if (connection.closed) return;
    this.metrics.refusals.inc({ reason: refusal });
    if (isAudited(refusal)) {
      // Coalesced per (client IP, reason) by the sink: a client can try fresh uuids at will.
      this.audit.record({
        action: 'relay.session_refused',
        uuid: context.uuid ?? '',
        reason: refusal,
        ip: connection.remote.address,
        devices: context.devices ?? [],
      });
    }
    const noisy = refusal === 'not-request-relay' || refusal === 'draining';
    connection.logger[noisy ? 'debug' : 'info']({ ...context, refusal }, 'relay request refused');
    // Silently, as hbbr: the relay never writes a byte of its own.
    connection.destroy('refused');
  }

  private auditBanCut(session: RelaySession): void {
    this.audit.record({
      action: 'relay.session_closed_by_ban',
      uuid: session.uuid,
      devices: [...session.devices],
    });
  }

  private onUnpairedTimeout(peer: WaitingPeer): void {
    this.metrics.unpairedTimeouts.inc();
    peer.connection.logger.info({ uuid: peer.uuid }, 'partner never came, closing');
    peer.connection.destroy('unpaired-timeout');
  }

  private dropBlocked(connection: RelayConnection): void {
    const party = this.parties.get(connection);
    connection.logger.info({ address: connection.remote.address }, 'blocklisted, closing');
    if (party instanceof RelaySession) this.endSession(party, 'blocklist');
    else connection.destroy('blocklist');
  }

  private forget(connection: RelayConnection, reason: CloseReason): void {
    if (!this.connections.delete(connection)) return;
    this.metrics.open.dec({ transport: connection.transport });
    this.metrics.closed.inc({ transport: connection.transport, reason });
    if (reason === 'timeout') this.metrics.refusals.inc({ reason: 'first-frame-timeout' });
    if (reason === 'frame-too-large') this.metrics.refusals.inc({ reason: 'frame-too-large' });
    const party = this.parties.get(connection);
    this.parties.delete(connection);
    if (party instanceof RelaySession) this.endSession(party, reason, connection);
    else if (party) this.forgetWaiter(party);
    if (this.connections.size === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private forgetWaiter(waiter: WaitingPeer): void {
    this.waiting.remove(waiter.connection, waiter.uuid);
    this.carriers.remove(waiter.devices, waiter);
    this.parties.delete(waiter.connection);
    this.metrics.waiting.set(this.waiting.size);
  }

  private endSession(session: RelaySession, reason: CloseReason, from?: RelayConnection): void {
    if (!this.sessions.delete(session)) return;
    this.carriers.remove(session.devices, session);
    this.reportBytes([session]);
    this.bytesOfEndedSessions += session.bytes;
    this.metrics.sessions.set(this.sessions.size);
    this.metrics.sessionsClosed.inc({ reason });
    session.close(reason, from);
  }

  private sweep(): void {
    const now = this.clock();
    for (const connection of [...this.connections]) {
      if (!connection.closed && this.ips.isBlocked(connection.remote.address)) this.dropBlocked(connection);
    }
    for (const session of [...this.sessions]) {
      const bytes = session.bytes;
      if (bytes !== session.lastSeenBytes) {
        session.lastSeenBytes = bytes;
        session.lastActiveAt = now;
      } else if (now - session.lastActiveAt >= this.limits.idleTimeoutMs) {
        session.connections[0].logger.info({ uuid: session.uuid }, 'session idle, closing');
        this.endSession(session, 'idle');
        continue;
      }
      if (!session.downgraded && shouldDowngrade(this.bandwidth, now - session.startedAt, bytes)) {
        session.downgraded = true;
        this.metrics.downgraded.inc();
        session.connections[0].logger.info({ uuid: session.uuid }, 'session downgraded to LIMIT_SPEED');
      }
      this.applySpeedLimit(session);
    }
    this.reportBytes(this.sessions);
  }

  /**
   * LIMIT_SPEED instead of the per-session limit for a downgraded session or a blacklisted end: at
   * pairing, so a blacklisted IP is slow from its first byte, and again at every sweep, as lists change.
   */
  private applySpeedLimit(session: RelaySession): void {
    const [first, second] = session.connections;
    session.budget.slow =
      session.downgraded ||
      this.ips.isBlacklisted(first.remote.address) ||
      this.ips.isBlacklisted(second.remote.address);
  }

  /**
   * Adds what these sessions relayed since their last report to the byte counters, summed first: a
   * labelled prom-client increment costs about a microsecond, and one per session per second made
   * the sweep of 2,000 sessions a 3-5 ms stall (bench/relay).
   */
  private reportBytes(sessions: Iterable<RelaySession>): void {
    let fromController = 0;
    let fromControlled = 0;
    for (const session of sessions) {
      const { reported } = session;
      const controller = session.bytesFrom('from-controller');
      const controlled = session.bytesFrom('from-controlled');
      fromController += controller - reported['from-controller'];
      fromControlled += controlled - reported['from-controlled'];
      reported['from-controller'] = controller;
      reported['from-controlled'] = controlled;
    }
    if (fromController > 0) this.metrics.bytes.inc({ direction: 'from-controller' }, fromController);
    if (fromControlled > 0) this.metrics.bytes.inc({ direction: 'from-controlled' }, fromControlled);
  }

  private logTicketFailure(error: unknown, uuid: string): void {
    const now = this.clock();
    // One line per 10 s: with Redis down every connection would fail the same way.
    if (now - this.ticketFailureLoggedAt < 10_000) return;
    this.ticketFailureLoggedAt = now;
    this.logger.warn({ err: error, uuid, strict: this.strict }, 'relay ticket lookup failed');
  }
}
