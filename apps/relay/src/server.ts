import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from 'node:net';

import { type Logger } from '@switchboard/observability';
import {
  type AllowedOrigins,
  closeServer,
  listen,
  normalizeAddress,
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
}

const NO_TRUSTED_PROXIES = new TrustedProxies([]);

/**
 * Opens hbbr's two listeners and hands every client to the core. Both pass the core's accept gate
 * (draining, blocklist, per-IP cap) on the raw TCP socket, before a byte is read, so a flood costs
 * no HTTP parsing and no WebSocket handshake.
 */
export class RelayServer {
  private readonly logger: Logger;
  private tcp: TcpServer | undefined;
  private wsTcp: TcpServer | undefined;
  private http: HttpServer | undefined;
  private bound: RelayAddresses | undefined;
  private readonly upgrading = new WeakMap<Socket, NodeJS.Timeout>();

  constructor(
    private readonly core: RelayCore,
    private readonly options: RelayServerOptions,
  ) {
    this.logger = options.logger.child({ component: 'relay-server' });
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
        const reader = TcpChunkReader.adopt(accepted);
        if (reader) this.core.handle(reader.socket, 'tcp', remote, reader);
        else this.core.handle(accepted, 'tcp', remote);
      });
      this.tcp.on('error', (error) => this.logger.error({ err: error, transport: 'tcp' }, 'listener error'));
      const tcp = await listen(this.tcp, host, port);
      this.http = this.webSocketServer();
      // The HTTP server never listens itself: sockets reach it only through the gate.
      this.wsTcp = createTcpServer({ noDelay: true }, (socket) => {
        // A trusted proxy carries many clients: each is gated by its own address after the upgrade.
        const viaProxy = this.trustedProxies.has(socket.remoteAddress ?? '');
        if (!viaProxy && this.admit(socket) === undefined) return;
        // A client that never finishes its upgrade is reaped like one that never sends RequestRelay.
        const reap = setTimeout(() => socket.destroy(), this.upgradeTimeoutMs);
        this.upgrading.set(socket, reap);
        socket.once('close', () => clearTimeout(reap));
        this.http?.emit('connection', socket);
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
    this.http?.closeIdleConnections();
    const cut = await this.core.drain(drainMs);
    this.http?.closeAllConnections();
    await listenersClosed;
    return { cut };
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
      const remote = this.trustedProxies.clientEndpoint(request.socket, request.headers);
      if (this.trustedProxies.has(request.socket.remoteAddress ?? '')) {
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
