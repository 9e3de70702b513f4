import { type Duplex } from 'node:stream';

import {
  type AuditSink,
  NO_AUDIT,
  RELAY_SESSION_REFUSALS,
  type RelaySessionRefusal,
} from '@switchboard/audit-queue';
import { type Logger, type Registry } from '@switchboard/observability';
import { DEFAULT_IPV6_PREFIX_LENGTH, type PeerEndpoint } from '@switchboard/transport';

import { type AdmissionLimits, type AdmissionVerdict, RelayAdmission, type TicketPolicy } from './admission';
import { type BandwidthLimits, SessionBudget, TokenBucket } from './bandwidth';
import { DeviceIndex } from './device-index';
import { type WaitingPeer, WaitingRoom } from './pairing';
import { type DeviceAccess, type IpAccess, type TicketSource } from './ports';
import {
  type CloseReason,
  RelayConnection,
  type RelayConnectionLimits,
  type Transport,
} from './relay-connection';
import { createRelayMetrics, type RelayMetrics, type Refusal } from './relay-metrics';
import { parseRelayRequest, type RelayRequest } from './relay-request';
import { RelaySession } from './relay-session';
import { applySpeedLimit, RelaySweep, type SweepLimits } from './sweep';
import { type ChunkReader, StreamChunkReader } from './transport/chunk-reader';

export interface RelayLimits extends RelayConnectionLimits, AdmissionLimits, SweepLimits {
  /** hbbr drops a connection whose partner has not come after 30 s. */
  readonly unpairedTimeoutMs: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  // hbbr's timings (docs/protocol.md §6; rustdesk-server src/relay_server.rs).
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
 * RequestRelay is checked (licence key here, uuid, ticket and deny set in admission.ts), then it
 * waits for the other end of its uuid and the two are piped together. The relay never sends a byte
 * of its own: refusals are a silent close, and the first bytes each end sees are the other end's.
 * The periodic timeouts are sweep.ts's.
 */
export class RelayCore {
  readonly limits: RelayLimits;
  readonly bandwidth: BandwidthLimits;
  private readonly logger: Logger;
  private readonly metrics: RelayMetrics;
  private readonly devices: DeviceAccess;
  private readonly ips: IpAccess;
  private readonly audit: AuditSink;
  private readonly clock: () => number;
  private readonly admission: RelayAdmission;
  private readonly connections = new Set<RelayConnection>();
  private readonly parties = new Map<RelayConnection, Party>();
  private readonly sessions = new Set<RelaySession>();
  private readonly carriers = new DeviceIndex<Party>();
  private readonly waiting: WaitingRoom;
  private readonly totalBucket: TokenBucket;
  private readonly sweeper: RelaySweep;
  private bytesOfEndedSessions = 0;
  private idleWaiters: (() => void)[] = [];
  private accepting = true;

  constructor(private readonly options: RelayCoreOptions) {
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...options.limits };
    this.bandwidth = { ...DEFAULT_BANDWIDTH_LIMITS, ...options.bandwidth };
    this.logger = options.logger.child({ component: 'relay-core' });
    this.metrics = createRelayMetrics(options.registry);
    this.devices = options.devices ?? NOBODY_DENIED;
    this.ips = options.ips ?? NO_IP_LISTS;
    this.audit = options.audit ?? NO_AUDIT;
    this.clock = options.clock ?? (() => performance.now());
    this.waiting = new WaitingRoom(this.limits.unpairedTimeoutMs, (peer) => this.onUnpairedTimeout(peer));
    this.admission = new RelayAdmission({
      limits: this.limits,
      strict: options.strict ?? true,
      tickets: options.tickets,
      devices: this.devices,
      ips: this.ips,
      ticketPolicy: options.ticketPolicy,
      waiting: this.waiting,
      metrics: this.metrics,
      logger: this.logger,
      clock: this.clock,
    });
    this.totalBucket = new TokenBucket(this.bandwidth.totalMbps, this.clock());
    this.sweeper = new RelaySweep(
      {
        connections: this.connections,
        sessions: this.sessions,
        dropBlocked: (connection) => this.dropBlocked(connection),
        endSession: (session, reason) => this.endSession(session, reason),
        reportBytes: (sessions) => this.reportBytes(sessions),
      },
      {
        limits: this.limits,
        bandwidth: this.bandwidth,
        ips: this.ips,
        metrics: this.metrics,
        clock: this.clock,
      },
    );
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

  /** The accept-time gate (admission.ts): the release to call when the socket closes, or undefined to drop it. */
  admitSocket(address: string): (() => void) | undefined {
    return this.admission.admitSocket(address, !this.accepting);
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
    this.sweeper.dropBlocklisted();
  }

  /** True once drain() has begun: no new connection is taken. */
  get draining(): boolean {
    return !this.accepting;
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
    this.sweeper.stop();
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
    const named = this.admission.namedDevices(request);
    const arriving = { connection, buffered: rest, named, isController: request.peerId !== '' };
    if (this.carryOut(this.admission.screen(request, connection, named), request.uuid, arriving)) return;
    const ticket = await this.admission.ticketFor(request.uuid, connection);
    if (connection.closed) return;
    this.carryOut(this.admission.judge(request, connection, named, ticket), request.uuid, arriving);
  }

  /**
   * Does what admission decided, in the same turn as it decided (the waiting room cannot change in
   * between). False when the ticket must be looked up first.
   */
  private carryOut(verdict: AdmissionVerdict, uuid: string, arriving: ArrivingEnd): boolean {
    const { connection } = arriving;
    switch (verdict.kind) {
      case 'look-up-ticket':
        return false;
      case 'refuse':
        this.refuse(connection, verdict.refusal, verdict.context);
        return true;
      case 'pair':
        this.waiting.take(uuid);
        this.pair(verdict.partner, arriving);
        return true;
      case 'wait': {
        const { devices, admission } = verdict;
        const waiter: WaitingPeer = {
          uuid,
          connection,
          buffered: arriving.buffered,
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
        return true;
      }
    }
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
    applySpeedLimit(session, this.ips);
    session.start();
    arriving.connection.logger.info(
      { uuid: session.uuid, partner: `${waiter.connection.remote.address}:${waiter.connection.remote.port}` },
      'paired',
    );
    void this.addTicketDevices(session, waiter.admission !== undefined);
  }

  /** Spends the session's ticket; in compatibility mode the devices it names join the session, for ban cuts. */
  private async addTicketDevices(session: RelaySession, admittedOnTicket: boolean): Promise<void> {
    const peers = await this.admission.consumeTicket(session.uuid, admittedOnTicket);
    if (peers === undefined || !this.sessions.has(session)) return;
    const added = peers.filter((id) => !session.devices.has(id));
    for (const id of added) session.devices.add(id);
    this.carriers.add(added, session);
    if (added.some((id) => this.devices.isDenied(id))) {
      this.endSession(session, 'denied');
      this.auditBanCut(session);
    }
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
}
