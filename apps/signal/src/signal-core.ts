import { type Duplex } from 'node:stream';

import { NO_AUDIT } from '@switchboard/audit-queue';
import { type RandomBytes, SecureChannel, type ServerKey } from '@switchboard/crypto';
import { type Logger, type Registry } from '@switchboard/observability';
import { decodeRendezvous } from '@switchboard/protocol';
import {
  type ConnectionSlot,
  OpenConnections,
  type PeerEndpoint,
  rateLimitKey,
} from '@switchboard/transport';

import { type ConnAuditRefPort, NO_CONN_AUDIT_REFS } from './caller/conn-audit-refs';
import { type Clock, systemClock } from './clock';
import { type CloseReason, type Listener, SignalConnection } from './connection';
import { handleKeyExchange } from './handlers/key-exchange';
import { dispatchDatagram, dispatchStream } from './handlers/message-tables';
import { answerRegisterPeer, readRegisterPeerId } from './handlers/register-peer';
import { finishOneShot } from './handlers/stream-outcome';
import { DEFAULT_SIGNAL_LIMITS, type SignalLimits } from './limits';
import { SignalMetrics } from './metrics';
import { type KnownPeer, PeerMap, type PeerRecord } from './peer-map';
import {
  type AuditSink,
  type DeviceAccessPort,
  type DeviceWriterPort,
  type Refusal,
  type RelayPickerPort,
  type RelayTicketPort,
} from './ports';
import { PunchMap } from './punch-map';
import { RegisterPkIpLimiter, WindowLimiter } from './rate-limit';
import {
  type ApiProxyPort,
  type DatagramSender,
  NO_REFUSAL_COUNTER,
  punchKey,
  type PunchWaiter,
  type RegistrationRefusalCounter,
  type RendezvousContext,
} from './rendezvous-context';

export { DEFAULT_SIGNAL_LIMITS, type SignalLimits } from './limits';
export type { DatagramSender } from './rendezvous-context';

export interface SignalCoreOptions {
  logger: Logger;
  registry: Registry;
  /** Licence check and signing key (hbbs `-k`, docs/protocol.md §4). */
  serverKey: ServerKey;
  access: DeviceAccessPort;
  writer: DeviceWriterPort;
  relays: RelayPickerPort;
  tickets: RelayTicketPort;
  /** Where refusals and ban-closed links are audited; none by default. */
  audit?: AuditSink;
  limits?: Partial<SignalLimits>;
  clock?: Clock;
  /** Randomness for each secure channel's ephemeral box key; tests pass a fixed one. */
  random?: RandomBytes;
  /** Forwards tunnelled client API requests to the api; none answers them 503. */
  apiProxy?: ApiProxyPort;
  /** Issues the controlled side's conn_audit_ref from a caller's token; none issues no reference. */
  auditRefs?: ConnAuditRefPort;
  /** Counts refused registrations for the operators' dashboard; none counts nothing. */
  registrationRefusals?: RegistrationRefusalCounter;
}

/**
 * The transport-agnostic rendezvous core (hbbs): TCP 21116, the NAT-test port 21115 and WebSocket all
 * arrive as byte streams, UDP as datagrams. It decodes, looks each message up in its port's table
 * (handlers/message-tables.ts; one handler file per message type) and owns the state they share: the
 * peer map, the punch map, the registration links and the rate limiters.
 */
export class SignalCore {
  readonly limits: SignalLimits;
  readonly peers: PeerMap;
  private readonly logger: Logger;
  private readonly connections = new Set<SignalConnection>();
  private readonly links = new Set<SignalConnection>();
  private readonly punches: PunchMap<PunchWaiter>;
  private readonly metrics: SignalMetrics;
  private readonly clock: Clock;
  private readonly context: RendezvousContext;
  private readonly sweepTimer: NodeJS.Timeout;
  private datagramSender: DatagramSender | undefined;
  private shuttingDown = false;
  /** Open TCP/WS connections per client IP (rate-limit key), and of everyone together. */
  private readonly open = new OpenConnections();
  private readonly newConnectionLimiter: WindowLimiter;
  private readonly frameLimiter: WindowLimiter;

  constructor(private readonly options: SignalCoreOptions) {
    this.limits = { ...DEFAULT_SIGNAL_LIMITS, ...options.limits };
    this.logger = options.logger.child({ component: 'signal-core' });
    this.clock = options.clock ?? systemClock;
    this.peers = new PeerMap(this.limits.onlineWindowMs, this.limits.maxPeers);
    this.punches = new PunchMap({ cap: this.limits.punchMapCap, ttlMs: this.limits.punchMapTtlMs });
    this.metrics = new SignalMetrics(options.registry, {
      peersRegistered: () => this.peers.size,
      peersOnline: () => this.peers.countOnline(this.clock.now()),
      links: () => this.links.size,
      punchEntries: () => this.punches.size,
    });
    const limits = this.limits;
    this.context = {
      peers: this.peers,
      punches: this.punches,
      access: options.access,
      writer: options.writer,
      relays: options.relays,
      tickets: options.tickets,
      audit: options.audit ?? NO_AUDIT,
      serverKey: options.serverKey,
      limits,
      metrics: this.metrics,
      clock: this.clock,
      udp: { send: (payload, address, port) => this.sendDatagram(payload, address, port) },
      logger: this.logger,
      registerPkLimiter: new RegisterPkIpLimiter({
        maxRequests: limits.registerPkPerIp,
        requestIdleResetMs: limits.registerPkIdleResetMs,
        maxIds: limits.registerPkIdsPerIp,
        idsIdleResetMs: limits.registerPkIdsResetMs,
        maxKeys: limits.maxTrackedIps,
        ipv6PrefixLength: limits.ipv6PrefixLength,
      }),
      onlineQueryLimiter: new WindowLimiter({
        max: limits.onlineQueryIdsPerIp,
        windowMs: limits.onlineQueryWindowMs,
        maxKeys: limits.maxTrackedIps,
      }),
      idChangeLimiter: new WindowLimiter({
        max: limits.idChangesPerIp,
        windowMs: limits.idChangeWindowMs,
        maxKeys: limits.maxTrackedIps,
      }),
      udpNewDeviceLimiter: new WindowLimiter({
        max: limits.udpNewDevices,
        windowMs: limits.udpNewDevicesWindowMs,
        maxKeys: 1,
      }),
      relayTicketIpLimiter: new WindowLimiter({
        max: limits.relayTicketsPerIp,
        windowMs: limits.relayTicketWindowMs,
        maxKeys: limits.maxTrackedIps,
      }),
      relayTicketPeerLimiter: new WindowLimiter({
        max: limits.relayTicketsPerPeer,
        windowMs: limits.relayTicketWindowMs,
        maxKeys: limits.maxTrackedIps,
      }),
      apiProxy: options.apiProxy,
      auditRefs: options.auditRefs ?? NO_CONN_AUDIT_REFS,
      registrationRefusals: options.registrationRefusals ?? NO_REFUSAL_COUNTER,
      bindLink: (peer, connection) => this.bindLink(peer, connection),
    };
    this.newConnectionLimiter = new WindowLimiter({
      max: limits.newConnectionsPerIp,
      windowMs: limits.perIpWindowMs,
      maxKeys: limits.maxTrackedIps,
    });
    this.frameLimiter = new WindowLimiter({
      max: limits.framesPerIp,
      windowMs: limits.perIpWindowMs,
      maxKeys: limits.maxTrackedIps,
    });
    options.access.onDenied((ids, refusal) => this.deny(ids, refusal));
    // One timer for the whole core (no per-peer timers): punch-map expiry and link keep-alives.
    this.sweepTimer = setInterval(() => this.sweep(), this.limits.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  get openConnections(): number {
    return this.connections.size;
  }

  /** The UDP socket's sender; set by the server once the socket is bound. */
  attachDatagramSender(sender: DatagramSender): void {
    this.datagramSender = sender;
  }

  /** Known devices from Postgres, so lookups tell ID_NOT_EXIST from OFFLINE and uuids are checked after a restart. */
  loadKnownPeers(known: Iterable<KnownPeer>): number {
    return this.peers.load(known, this.clock.now());
  }

  /** An id changed elsewhere (the operator API): the live record follows. */
  renamePeer(oldId: string, newId: string): boolean {
    return this.peers.rename(oldId, newId);
  }

  handle(stream: Duplex, listener: Listener, remote: PeerEndpoint): void {
    const slot = this.admit(remote.address);
    if (slot === undefined) {
      stream.destroy();
      return;
    }
    this.serve(stream, listener, remote, slot);
  }

  /**
   * Takes one of `ip`'s connection slots (open at once, and new per window; an IPv6 client shares
   * its network's), or undefined when it has none left or the process is at its global cap. Checked
   * before anything costs us work: the key exchange alone is milliseconds of CPU, an HTTP upgrade a
   * parse. The slot is held until released, once.
   */
  admit(ip: string): ConnectionSlot | undefined {
    const key = rateLimitKey(ip, this.limits.ipv6PrefixLength);
    if (!this.shuttingDown) {
      if (this.open.total >= this.limits.maxConnections) {
        this.metrics.refusal('connection-cap');
        return undefined;
      }
      if (
        this.open.countFor(key) >= this.limits.maxConnectionsPerIp ||
        !this.newConnectionLimiter.allow(key, 1, this.clock.now())
      ) {
        this.metrics.refusal('connection-limit');
        return undefined;
      }
    }
    return this.open.take(key);
  }

  /**
   * A stream admitted already (a WebSocket's slot is taken at TCP accept, before its upgrade). Its
   * slot is released when the connection closes, if nobody released it before.
   */
  serve(stream: Duplex, listener: Listener, remote: PeerEndpoint, slot: ConnectionSlot): void {
    this.metrics.connectionsAccepted.labels(listener).inc();
    const signing = this.options.serverKey.signingKeyPair;
    // Secure TCP is offered on every 21116 TCP connection when there is a key to sign with (§4 step 1).
    const channel =
      listener === 'tcp' && signing !== undefined && !this.shuttingDown
        ? new SecureChannel(signing, this.options.random)
        : undefined;
    const connection = new SignalConnection(
      stream,
      listener,
      remote,
      slot.key,
      this.limits,
      {
        frame: (conn, frame) => this.dispatch(conn, frame),
        closed: (conn, reason) => {
          slot.release();
          this.forget(conn, reason);
        },
      },
      this.logger,
      channel,
      () => this.clock.now(),
    );
    this.connections.add(connection);
    this.metrics.connectionsOpen.labels(listener).inc();
    if (this.shuttingDown) {
      connection.destroy('shutdown');
      return;
    }
    connection.start();
  }

  /**
   * One UDP datagram. RegisterPeer, the heartbeat of every UDP client, takes a path that allocates
   * nothing but the id; everything else goes through the generic decoder. Over UDP only
   * RegisterPeer and RegisterPk are answered, each with a reply no larger than the request
   * (anti-reflection, docs/protocol.md §5.4). TestNatRequest is not answered either: its reply would be
   * larger than the request, and the port it reports only serves UDP punching, which this server
   * does not broker (udp_port is not forwarded, as upstream).
   */
  handleDatagram(datagram: Buffer, address: string, port: number): void {
    this.metrics.sinceScrape.datagrams++;
    const id = readRegisterPeerId(datagram);
    if (id !== undefined) {
      this.metrics.sinceScrape.udpRegisterPeers++;
      answerRegisterPeer(this.context, datagram, id, address, port);
      return;
    }
    const decoded = decodeRendezvous(datagram);
    if (!decoded.ok) {
      this.metrics.frameError('udp', decoded.error.kind);
      return;
    }
    const message = decoded.payload;
    this.metrics.message('udp', message.$case);
    dispatchDatagram(this.context, message, datagram, address, port);
  }

  /** Refuses new connections and drops every open one (signal's clients reconnect on their own). */
  closeAll(): void {
    this.shuttingDown = true;
    clearInterval(this.sweepTimer);
    for (const connection of [...this.connections]) connection.destroy('shutdown');
  }

  private sendDatagram(payload: Uint8Array, address: string, port: number): void {
    if (this.datagramSender === undefined) {
      this.logger.warn('no UDP socket attached, datagram dropped');
      return;
    }
    this.datagramSender.send(payload, address, port);
  }

  private dispatch(connection: SignalConnection, frame: Buffer): void {
    if (!this.frameLimiter.allow(connection.rateKey, 1, this.clock.now())) {
      this.metrics.refusal('frame-rate');
      connection.close('rate-limited');
      return;
    }
    // A zero-length frame is a heartbeat (docs/protocol.md §1): it has already restarted the timeout.
    if (frame.length === 0) return;
    const decoded = decodeRendezvous(frame);
    if (!decoded.ok) {
      this.metrics.frameError(connection.listener, decoded.error.kind);
      connection.logger.debug({ error: decoded.error }, 'undecodable message, closing');
      connection.close('bad-message');
      return;
    }
    const message = decoded.payload;
    this.metrics.message(connection.listener, message.$case);
    const channel = connection.channel;
    if (channel?.state === 'awaiting-first-message') {
      if (message.$case === 'keyExchange') {
        handleKeyExchange(this.context, connection, message.value);
        return;
      }
      channel.continueInPlaintext();
    }
    const outcome = dispatchStream(this.context, connection, message);
    if (outcome !== 'keep-open') finishOneShot(connection, outcome);
  }

  private bindLink(peer: PeerRecord, connection: SignalConnection): void {
    const previous = peer.link;
    // The client keeps one link; a new one means the old is dead or about to be.
    if (previous !== undefined && previous !== connection && !previous.closed) previous.destroy('superseded');
    const now = this.clock.now();
    peer.link = connection;
    peer.address = connection.remote.address;
    peer.port = connection.remote.port;
    peer.lastRegTime = now;
    connection.registeredPeer = peer;
    this.links.add(connection);
    connection.setMessageTimeout(this.limits.linkIdleTimeoutMs);
  }

  private sweep(): void {
    const now = this.clock.now();
    this.punches.sweep(now);
    for (const link of this.links) {
      if (now - link.lastSentAt >= this.limits.linkPingIntervalMs) link.sendHeartbeat();
      const peer = link.registeredPeer;
      if (peer !== undefined && now - peer.seenRecordedAt >= this.limits.seenRecordIntervalMs) {
        peer.seenRecordedAt = now;
        this.options.writer.recordSeen(peer.id, link.remote.address, new Date(now));
      }
    }
  }

  /** Banned, revoked or deleted: out of the peer map, and any live link closed at once. */
  private deny(ids: readonly string[], refusal: Refusal): void {
    let links = 0;
    for (const id of ids) {
      const peer = this.peers.delete(id);
      if (peer?.link !== undefined && !peer.link.closed) {
        const ip = peer.link.remote.address;
        peer.link.destroy('denied');
        links++;
        if (refusal === 'banned' || refusal === 'revoked' || refusal === 'deleted') {
          this.context.audit.record({ action: 'device.link_closed', deviceId: id, reason: refusal, ip });
        }
      }
    }
    if (ids.length > 0) this.logger.info({ ids: ids.length, refusal, linksClosed: links }, 'devices denied');
  }

  private forget(connection: SignalConnection, reason: CloseReason): void {
    if (!this.connections.delete(connection)) return;
    this.metrics.connectionClosed(connection.listener, reason);
    const peer = connection.registeredPeer;
    if (peer !== undefined) {
      this.links.delete(connection);
      if (peer.link === connection) {
        // Nothing can reach it now (its address was the link's, not a UDP one): offline until it
        // registers again, which a client does at once on a new link.
        peer.link = undefined;
        peer.port = 0;
        peer.lastRegTime = Number.NEGATIVE_INFINITY;
      }
    }
    if (connection.awaitingPeer) {
      const key = punchKey(connection.remote.address, connection.remote.port);
      if (key !== undefined) this.punches.removeIf(key, (waiter) => waiter.connection === connection);
    }
  }
}
