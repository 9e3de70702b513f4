import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import {
  type AddressInfo,
  createServer as createTcpServer,
  isIPv6,
  type Server as TcpServer,
  type Socket,
} from 'node:net';

import { type Logger } from '@switchboard/observability';
import {
  type ListenerTlsMode,
  SecureAcceptor,
  type TlsCredentials,
  type TlsListenerMetrics,
} from '@switchboard/tls';
import {
  type AllowedOrigins,
  closeServer,
  type ConnectionSlot,
  listen,
  normalizeAddress,
  type PeerEndpoint,
  type TrustedProxies,
  WebSocketDuplex,
} from '@switchboard/transport';
import { WebSocketServer } from 'ws';

import { type Listener } from './connection';
import { type SignalCore } from './signal-core';

export interface SignalPorts {
  host: string;
  /** TCP and UDP rendezvous port (hbbs 21116). 0 picks a free port for each, for tests. */
  port: number;
  /** TCP NAT-test and online-query port (hbbs 21115). */
  natTestPort: number;
  /** WebSocket port (hbbs 21118). */
  wsPort: number;
}

export interface SignalAddresses {
  udp: AddressInfo;
  tcp: AddressInfo;
  natTest: AddressInfo;
  ws: AddressInfo;
}

/** SIGNAL_TLS and SIGNAL_WS_TLS with what they need; absent, every listener is plain as hbbs's. */
export interface SignalTlsOptions {
  /** The TCP rendezvous port and the NAT-test port (UDP is always plain). */
  tcpMode: ListenerTlsMode;
  /** The WebSocket port: dual and on serve wss:// there. */
  wsMode: ListenerTlsMode;
  /** Required unless both modes are off. */
  credentials: TlsCredentials | undefined;
  metrics: TlsListenerMetrics | undefined;
  handshakeTimeoutMs: number;
  /** Per listener. */
  maxPendingHandshakes: number;
  /**
   * Dual mode on 21116: a client silent this long after connecting is served plain. The stock
   * client sends nothing until the server's KeyExchange (rustdesk src/common.rs secure_tcp), so
   * this is the delay such a client sees; a TLS client's ClientHello follows its connect at once.
   * SIGNAL_TLS_PLAIN_AFTER_MS.
   */
  plainAfterSilenceMs: number;
}

export interface SignalServerOptions {
  ports: SignalPorts;
  trustedProxies: TrustedProxies;
  /** WS_ALLOWED_ORIGINS: browser origins allowed to upgrade; any when absent. */
  allowedOrigins?: AllowedOrigins;
  logger: Logger;
  /** A WebSocket client must finish its HTTP upgrade within this long; default the core's first-message timeout. */
  upgradeTimeoutMs?: number;
  tls?: SignalTlsOptions;
}

/** A WebSocket-port connection's admission, from TCP accept until its upgrade. */
interface UpgradeAdmission {
  /** Absent for a trusted proxy: its clients are counted one by one once upgraded. */
  readonly slot: ConnectionSlot | undefined;
  readonly reaper: NodeJS.Timeout;
  /** The accepted socket, whose address is the client's (or its proxy's). */
  readonly raw: Socket;
}

/** Opens hbbs's four listeners and hands every socket and datagram to the core. */
export class SignalServer {
  private readonly logger: Logger;
  private udp: UdpSocket | undefined;
  private tcp: TcpServer | undefined;
  private natTest: TcpServer | undefined;
  private http: HttpServer | undefined;
  /** The WebSocket port's own listener when TLS is possible there; it feeds `http`. */
  private wsTcp: TcpServer | undefined;
  /** Sockets between accept and the core (TLS sniff or handshake), destroyed on close. */
  private readonly unattached = new Set<Socket>();
  /** WebSocket-port connections by the stream the HTTP server reads (the TLS socket over a secured one). */
  private readonly upgradeAdmissions = new WeakMap<Socket, UpgradeAdmission>();
  private bound: SignalAddresses | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly core: SignalCore,
    private readonly options: SignalServerOptions,
  ) {
    this.logger = options.logger.child({ component: 'signal-server' });
  }

  private get upgradeTimeoutMs(): number {
    return this.options.upgradeTimeoutMs ?? this.core.limits.messageTimeoutMs;
  }

  get addresses(): SignalAddresses {
    if (!this.bound) throw new Error('SignalServer is not started');
    return this.bound;
  }

  /** Binds every port or none: a failure closes whatever was already open, then rejects. */
  async start(): Promise<SignalAddresses> {
    const { host, port, natTestPort, wsPort } = this.options.ports;
    try {
      this.tcp = this.tcpServer('tcp');
      const tcp = await listen(this.tcp, host, port);
      this.udp = this.udpSocket(host);
      const udp = await bindUdp(this.udp, host, port);
      this.natTest = this.tcpServer('nat-test');
      const natTest = await listen(this.natTest, host, natTestPort);
      this.http = this.webSocketServer();
      const wsAcceptor = this.acceptor('ws', this.options.tls?.wsMode, this.upgradeTimeoutMs);
      if (wsAcceptor) this.wsTcp = this.secureWebSocketListener(this.http, wsAcceptor);
      const ws = await listen(this.wsTcp ?? this.http, host, wsPort);
      this.bound = { udp, tcp, natTest, ws };
      return this.bound;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Stops accepting, drops open connections, and resolves once every listener is closed. */
  close(): Promise<void> {
    return (this.closing ??= this.closeAll());
  }

  private async closeAll(): Promise<void> {
    const closed = Promise.all([
      closeServer(this.tcp),
      closeServer(this.natTest),
      closeServer(this.http),
      closeServer(this.wsTcp),
      closeUdp(this.udp),
    ]);
    for (const socket of this.unattached) socket.destroy();
    this.http?.closeAllConnections();
    this.core.closeAll();
    await closed;
  }

  private tcpServer(listener: Listener): TcpServer {
    const acceptor = this.acceptor(listener, this.options.tls?.tcpMode, this.core.limits.messageTimeoutMs);
    // Half-open allowed so a reply can still go out after the client's FIN (see SignalConnection).
    const server = createTcpServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      const remote = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
      if (acceptor === undefined) this.core.handle(socket, listener, remote);
      else this.acceptSecured(socket, listener, remote, acceptor);
    });
    server.on('error', (error) => this.logger.error({ err: error, listener }, 'listener error'));
    return server;
  }

  /** undefined for a plain listener, which then takes exactly the path it took before TLS existed. */
  private acceptor(
    listener: Listener,
    mode: ListenerTlsMode | undefined,
    firstByteTimeoutMs: number,
  ): SecureAcceptor | undefined {
    const tls = this.options.tls;
    if (tls === undefined || mode === undefined || mode === 'off') return undefined;
    return new SecureAcceptor({
      listener,
      mode,
      credentials: tls.credentials,
      metrics: tls.metrics,
      logger: this.logger,
      // A client that sends nothing is closed when the core would have closed it.
      firstByteTimeoutMs,
      handshakeTimeoutMs: tls.handshakeTimeoutMs,
      maxPendingHandshakes: tls.maxPendingHandshakes,
      alpnProtocols: listener === 'ws' ? ['http/1.1'] : undefined,
      // Only 21116 has the server speak first; on the others the client's silence is just idleness.
      plainAfterSilenceMs: listener === 'tcp' ? tls.plainAfterSilenceMs : undefined,
    });
  }

  /**
   * The per-IP and global caps come first: a refused address costs no handshake. The slot is the
   * connection's from here; the core releases it when it closes, or the socket's close does if the
   * handshake never completes (release is once only).
   */
  private acceptSecured(
    socket: Socket,
    listener: Listener,
    remote: PeerEndpoint,
    acceptor: SecureAcceptor,
  ): void {
    const slot = this.core.admit(remote.address);
    if (slot === undefined) {
      socket.destroy();
      return;
    }
    this.unattached.add(socket);
    socket.once('close', () => {
      this.unattached.delete(socket);
      slot.release();
    });
    acceptor.accept(socket, (stream, secured) => {
      this.unattached.delete(socket);
      this.core.serve(stream, listener, remote, slot);
      // A plain socket from a dual port comes paused with its first chunk pushed back: the
      // connection reads it once its 'data' listener is on.
      if (!secured) stream.resume();
    });
  }

  private udpSocket(host: string): UdpSocket {
    // An IPv6 socket bound to '::' also receives IPv4 (dual stack) unless ipv6Only is set.
    const dualStack = isIPv6(host);
    const socket = createSocket({ type: dualStack ? 'udp6' : 'udp4' });
    // The heartbeat path: no closure or object per datagram, one shared send callback.
    const onSent = (error: Error | null) => {
      if (error) this.logger.debug({ err: error }, 'UDP send failed');
    };
    this.core.attachDatagramSender({
      // The core sees IPv4 clients as plain IPv4; an IPv6 socket can only reach them mapped.
      send: (payload, address, port) =>
        socket.send(
          payload,
          port,
          dualStack && !address.includes(':') ? `::ffff:${address}` : address,
          onSent,
        ),
    });
    socket.on('message', (datagram, info) => {
      this.core.handleDatagram(datagram, normalizeAddress(info.address), info.port);
    });
    socket.on('error', (error) => this.logger.error({ err: error }, 'UDP socket error'));
    return socket;
  }

  private webSocketServer(): HttpServer {
    // Any path is accepted: behind a proxy clients use /ws/id, direct ones the bare port (docs/protocol.md §0).
    const http = createHttpServer((_request, response) => {
      response.writeHead(426, { Upgrade: 'websocket', Connection: 'close', 'Content-Type': 'text/plain' });
      response.end('WebSocket only\n');
    });
    const admissions = this.upgradeAdmissions;
    // Plain port: the cap applies from TCP accept here. With TLS it was applied before the handshake.
    if (this.options.tls === undefined || this.options.tls.wsMode === 'off') {
      http.on('connection', (socket: Socket) => {
        const admission = this.admitUpgrade(socket, { current: socket });
        if (admission) admissions.set(socket, admission);
      });
    }
    const wss = new WebSocketServer({
      server: http,
      maxPayload: this.core.limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      verifyClient: this.options.allowedOrigins?.verifyUpgrade,
    });
    wss.on('connection', (socket, request) => {
      const admission = admissions.get(request.socket);
      if (admission) clearTimeout(admission.reaper);
      const remote = this.options.trustedProxies.clientEndpoint(
        admission?.raw ?? request.socket,
        request.headers,
      );
      const duplex = new WebSocketDuplex(socket);
      const slot = admission?.slot;
      if (slot === undefined) this.core.handle(duplex, 'ws', remote);
      else this.core.serve(duplex, 'ws', remote, slot);
    });
    wss.on('error', (error) => this.logger.error({ err: error }, 'WebSocket server error'));
    http.on('error', (error) => this.logger.error({ err: error, listener: 'ws' }, 'listener error'));
    return http;
  }

  /**
   * The cap applies from TCP accept: a socket that never upgrades (only Node's 60 s headersTimeout
   * would close it) must not be free, or one address could hold thousands. `reaped` is what the
   * reaper destroys; with TLS it is the secured stream once there is one.
   */
  private admitUpgrade(raw: Socket, reaped: { current: Socket }): UpgradeAdmission | undefined {
    const address = normalizeAddress(raw.remoteAddress ?? '');
    let slot: ConnectionSlot | undefined;
    // A trusted proxy carries many clients; each is counted by its own address once upgraded.
    if (!this.options.trustedProxies.has(address)) {
      slot = this.core.admit(address);
      if (slot === undefined) {
        raw.destroy();
        return undefined;
      }
      const taken = slot;
      raw.once('close', () => taken.release());
    }
    // Reaped like a connection that never sends its first message.
    const reaper = setTimeout(() => reaped.current.destroy(), this.upgradeTimeoutMs);
    raw.once('close', () => clearTimeout(reaper));
    return { slot, reaper, raw };
  }

  /**
   * The WebSocket port with TLS: a TCP listener admits (caps, upgrade deadline), runs the acceptor,
   * then gives the HTTP server the stream to read: wss:// and, in dual mode, ws:// on one port.
   */
  private secureWebSocketListener(http: HttpServer, acceptor: SecureAcceptor): TcpServer {
    const server = createTcpServer({ noDelay: true }, (socket) => {
      const reaped = { current: socket };
      const admission = this.admitUpgrade(socket, reaped);
      if (admission === undefined) return;
      this.unattached.add(socket);
      socket.once('close', () => this.unattached.delete(socket));
      acceptor.accept(socket, (stream, secured) => {
        this.unattached.delete(socket);
        reaped.current = stream;
        this.upgradeAdmissions.set(stream, admission);
        http.emit('connection', stream);
        if (!secured) stream.resume();
      });
    });
    server.on('error', (error) => this.logger.error({ err: error, listener: 'ws' }, 'listener error'));
    return server;
  }
}

function bindUdp(socket: UdpSocket, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve(socket.address());
    });
  });
}

function closeUdp(socket: UdpSocket | undefined): Promise<void> {
  if (!socket) return Promise.resolve();
  return new Promise((resolve) => socket.close(() => resolve()));
}
