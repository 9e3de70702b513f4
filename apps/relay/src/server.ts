import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
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
  listen,
  normalizeAddress,
  type PeerEndpoint,
  TrustedProxies,
  WebSocketDuplex,
} from '@switchboard/transport';
import { WebSocketServer } from 'ws';

import { type RelayCore } from './relay-core';
import { TcpChunkReader } from './transport/tcp-chunk-reader';

export interface RelayPorts {
  host: string;
  /** TCP relay port (hbbr 21117); 0 picks a free port, for tests. */
  port: number;
  /** WebSocket relay port (hbbr 21119). */
  wsPort: number;
}

export interface RelayAddresses {
  tcp: AddressInfo;
  ws: AddressInfo;
}

// Relayed sessions carry video, so WS messages may be far larger than signal's.
export const DEFAULT_MAX_WS_MESSAGE_BYTES = 8 * 1024 * 1024;

export interface RelayServerOptions {
  ports: RelayPorts;
  logger: Logger;
  /** Largest WebSocket message accepted, and largest TCP frame re-framed towards a WS peer. */
  maxWsMessageBytes?: number;
  /** A WebSocket client must finish its HTTP upgrade within this long. */
  upgradeTimeoutMs?: number;
  /**
   * Proxies in front of the WebSocket port whose X-Real-IP / X-Forwarded-For is believed; their
   * clients pass the gate by that address, once the upgrade has told it (TRUSTED_PROXIES).
   */
  trustedProxies?: TrustedProxies;
  /** WS_ALLOWED_ORIGINS: browser origins allowed to upgrade; any when absent. */
  allowedOrigins?: AllowedOrigins;

  /** TLS on either port (RELAY_TLS, RELAY_WS_TLS); both plain when absent. */
  tls?: RelayTlsOptions;
}

export interface RelayTlsOptions {
  readonly tcpMode: ListenerTlsMode;
  readonly wsMode: ListenerTlsMode;
  /** Required unless both modes are off; read at each accept, so a reload reaches new clients. */
  readonly credentials: TlsCredentials | undefined;
  readonly metrics: TlsListenerMetrics | undefined;
  /** Dual mode: a client silent this long is closed (RELAY_FIRST_FRAME_TIMEOUT_SECONDS, as hbbr's). */
  readonly firstByteTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxPendingHandshakes: number;
}

const NO_TRUSTED_PROXIES = new TrustedProxies([]);

/**
 * Opens hbbr's two listeners and hands every client to the core. Both pass the core's accept gate
 * (draining, blocklist, per-IP cap) on the raw TCP socket, before a byte is read, so a flood costs
 * no TLS handshake, no HTTP parsing and no WebSocket handshake. With TLS on a port, a SecureAcceptor
 * (libs/tls) sits between the gate and the core: TLS clients reach the core over their TLSSocket,
 * plain ones over the same fast read path as with TLS off.
 */
export class RelayServer {
  private readonly logger: Logger;
  private tcp: TcpServer | undefined;
  private wsTcp: TcpServer | undefined;
  private http: HttpServer | undefined;
  private bound: RelayAddresses | undefined;
  private readonly upgrading = new WeakMap<Socket, NodeJS.Timeout>();
  /** The accepted TCP socket under each TLS stream: what addresses and the gate go by. */
  private readonly rawSockets = new WeakMap<Socket, Socket>();
  /** Admitted but not yet handed on (waiting for a first byte or in a handshake): cut on close. */
  private readonly negotiating = new Set<Socket>();
  private readonly tcpAcceptor: SecureAcceptor | undefined;
  private readonly wsAcceptor: SecureAcceptor | undefined;

  constructor(
    private readonly core: RelayCore,
    private readonly options: RelayServerOptions,
  ) {
    this.logger = options.logger.child({ component: 'relay-server' });
    this.tcpAcceptor = this.acceptorFor('tcp', options.tls?.tcpMode ?? 'off');
    this.wsAcceptor = this.acceptorFor('ws', options.tls?.wsMode ?? 'off', ['http/1.1']);
  }

  /** None for a plain port: its sockets go to the core exactly as before TLS existed. */
  private acceptorFor(
    listener: string,
    mode: ListenerTlsMode,
    alpnProtocols?: readonly string[],
  ): SecureAcceptor | undefined {
    const tls = this.options.tls;
    if (mode === 'off' || tls === undefined) return undefined;
    return new SecureAcceptor({
      listener,
      mode,
      credentials: tls.credentials,
      metrics: tls.metrics,
      logger: this.logger,
      firstByteTimeoutMs: tls.firstByteTimeoutMs,
      handshakeTimeoutMs: tls.handshakeTimeoutMs,
      maxPendingHandshakes: tls.maxPendingHandshakes,
      alpnProtocols,
    });
  }

  private get trustedProxies(): TrustedProxies {
    return this.options.trustedProxies ?? NO_TRUSTED_PROXIES;
  }

  private get upgradeTimeoutMs(): number {
    return this.options.upgradeTimeoutMs ?? 30_000;
  }

  get addresses(): RelayAddresses {
    if (!this.bound) throw new Error('RelayServer is not started');
    return this.bound;
  }

  /** Binds both ports or neither. */
  async start(): Promise<RelayAddresses> {
    const { host, port, wsPort } = this.options.ports;
    try {
      // Paused at accept so that no byte is read before the socket moves to its own read buffer.
      this.tcp = createTcpServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
        const address = this.admit(accepted);
        if (address === undefined) return;
        const remote = { address, port: accepted.remotePort ?? 0 };
        const acceptor = this.tcpAcceptor;
        if (acceptor === undefined) {
          this.handlePlainTcp(accepted, remote);
          return;
        }
        this.negotiate(accepted, acceptor, (stream, secured) => {
          if (secured) this.core.handle(stream, 'tcp', remote);
          else this.handlePlainTcp(accepted, remote, true);
        });
      });
      this.tcp.on('error', (error) => this.logger.error({ err: error, transport: 'tcp' }, 'listener error'));
      const tcp = await listen(this.tcp, host, port);
      this.http = this.webSocketServer();
      // The HTTP server never listens itself: sockets reach it only through the gate.
      this.wsTcp = createTcpServer({ noDelay: true }, (socket) => {
        // A trusted proxy carries many clients: each is gated by its own address after the upgrade.
        const viaProxy = this.trustedProxies.has(socket.remoteAddress ?? '');
        if (!viaProxy && this.admit(socket) === undefined) return;
        const acceptor = this.wsAcceptor;
        if (acceptor === undefined) this.upgrade(socket);
        else this.negotiate(socket, acceptor, (stream) => this.upgrade(stream));
      });
      this.wsTcp.on('error', (error) => this.logger.error({ err: error, transport: 'ws' }, 'listener error'));
      const ws = await listen(this.wsTcp, host, wsPort);
      this.bound = { tcp, ws };
      return this.bound;
    } catch (error) {
      await this.close(0);
      throw error;
    }
  }

  /** Stops accepting at once, lets live sessions drain for up to `drainMs`, then closes. */
  async close(drainMs: number): Promise<{ cut: number }> {
    const listenersClosed = Promise.all([closeServer(this.tcp), closeServer(this.wsTcp)]);
    // Not sessions yet: nothing to drain, and the listeners' close waits for them.
    for (const socket of this.negotiating) socket.destroy();
    this.http?.closeIdleConnections();
    const cut = await this.core.drain(drainMs);
    this.http?.closeAllConnections();
    await listenersClosed;
    return { cut };
  }

  /**
   * The fast path: the accepted socket's handle moves into a TcpChunkReader. `sniffed`: a dual-mode
   * acceptor read the first chunk and put it back in the socket's buffer (paused); it is taken out
   * here and given to the reader to deliver first, so only that one read went the slow way.
   */
  private handlePlainTcp(accepted: Socket, remote: PeerEndpoint, sniffed = false): void {
    const head = sniffed ? ((accepted.read() as Buffer | null) ?? undefined) : undefined;
    const reader = TcpChunkReader.adopt(accepted, undefined, head);
    if (reader) {
      this.core.handle(reader.socket, 'tcp', remote, reader);
      return;
    }
    // This Node cannot move handles: read the socket as a stream, its first chunk back in front.
    if (head !== undefined) accepted.unshift(head);
    this.core.handle(accepted, 'tcp', remote);
  }

  /** Runs the acceptor on an admitted socket; TLS streams are remembered with their raw socket. */
  private negotiate(
    socket: Socket,
    acceptor: SecureAcceptor,
    onReady: (stream: Socket, secured: boolean) => void,
  ): void {
    this.negotiating.add(socket);
    const forget = () => this.negotiating.delete(socket);
    socket.once('close', forget);
    acceptor.accept(socket, (stream, secured) => {
      forget();
      socket.off('close', forget);
      if (secured) {
        this.rawSockets.set(stream, socket);
        // The gate's release and the listener's count go by the raw socket's 'close'.
        stream.once('close', () => socket.destroy());
      }
      onReady(stream, secured);
    });
  }

  /** Hands a (ws:// or wss://) connection to the HTTP server for its upgrade. */
  private upgrade(stream: Socket): void {
    // A client that never finishes its upgrade is reaped like one that never sends RequestRelay.
    const reap = setTimeout(() => stream.destroy(), this.upgradeTimeoutMs);
    this.upgrading.set(stream, reap);
    stream.once('close', () => clearTimeout(reap));
    this.http?.emit('connection', stream);
    // A dual-mode acceptor hands plain sockets on paused, their first chunk buffered: the HTTP
    // server listens now, so let it flow (a no-op for the others).
    stream.resume();
  }

  /** The peer's address if the gate lets it in (the socket is then tracked until it closes). */
  private admit(socket: Socket): string | undefined {
    const address = normalizeAddress(socket.remoteAddress ?? '');
    const release = this.core.admitSocket(address);
    if (!release) {
      socket.destroy();
      return undefined;
    }
    socket.once('close', release);
    return address;
  }

  private webSocketServer(): HttpServer {
    // Any path: behind a proxy clients use /ws/relay, direct ones the bare port (docs/protocol.md §0).
    const http = createHttpServer((_request, response) => {
      response.writeHead(426, { Upgrade: 'websocket', Connection: 'close', 'Content-Type': 'text/plain' });
      response.end('WebSocket only\n');
    });
    const maxPayload = this.options.maxWsMessageBytes ?? DEFAULT_MAX_WS_MESSAGE_BYTES;
    const wss = new WebSocketServer({
      server: http,
      maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      verifyClient: this.options.allowedOrigins?.verifyUpgrade,
    });
    wss.on('connection', (socket, request) => {
      clearTimeout(this.upgrading.get(request.socket));
      // The socket's own address unless it is a trusted proxy's (then the client it names, port 0).
      const raw = this.rawSockets.get(request.socket) ?? request.socket;
      const remote = this.trustedProxies.clientEndpoint(raw, request.headers);
      if (this.trustedProxies.has(raw.remoteAddress ?? '')) {
        const release = this.core.admitSocket(remote.address);
        if (!release) {
          socket.terminate();
          return;
        }
        request.socket.once('close', release);
      }
      // hbbr drops empty chunks both ways and re-frames one TCP frame per WS message (docs/protocol.md §1).
      const duplex = new WebSocketDuplex(socket, { dropEmptyFrames: true, maxFrameBytes: maxPayload });
      this.core.handle(duplex, 'ws', remote);
    });
    wss.on('error', (error) => this.logger.error({ err: error }, 'WebSocket server error'));
    http.on('clientError', (error, socket) => {
      this.logger.debug({ err: error }, 'bad WebSocket upgrade');
      socket.destroy();
    });
    return http;
  }
}
