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
  type AllowedOrigins,
  closeServer,
  type ConnectionSlot,
  listen,
  normalizeAddress,
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

export interface SignalServerOptions {
  ports: SignalPorts;
  trustedProxies: TrustedProxies;
  /** WS_ALLOWED_ORIGINS: browser origins allowed to upgrade; any when absent. */
  allowedOrigins?: AllowedOrigins;
  logger: Logger;
  /** A WebSocket client must finish its HTTP upgrade within this long; default the core's first-message timeout. */
  upgradeTimeoutMs?: number;
}

/** Opens hbbs's four listeners and hands every socket and datagram to the core. */
export class SignalServer {
  private readonly logger: Logger;
  private udp: UdpSocket | undefined;
  private tcp: TcpServer | undefined;
  private natTest: TcpServer | undefined;
  private http: HttpServer | undefined;
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
      const ws = await listen(this.http, host, wsPort);
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
      closeUdp(this.udp),
    ]);
    this.http?.closeAllConnections();
    this.core.closeAll();
    await closed;
  }

  private tcpServer(listener: Listener): TcpServer {
    // Half-open allowed so a reply can still go out after the client's FIN (see SignalConnection).
    const server = createTcpServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      const remote = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
      this.core.handle(socket, listener, remote);
    });
    server.on('error', (error) => this.logger.error({ err: error, listener }, 'listener error'));
    return server;
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
    const slots = new WeakMap<Socket, ConnectionSlot>();
    const reapers = new WeakMap<Socket, NodeJS.Timeout>();
    // The cap applies from TCP accept: a socket that never upgrades (only Node's 60 s headersTimeout
    // would close it) must not be free, or one address could hold thousands.
    http.on('connection', (socket: Socket) => {
      const address = normalizeAddress(socket.remoteAddress ?? '');
      // A trusted proxy carries many clients; each is counted by its own address once upgraded.
      if (!this.options.trustedProxies.has(address)) {
        const slot = this.core.admit(address);
        if (slot === undefined) {
          socket.destroy();
          return;
        }
        slots.set(socket, slot);
        socket.once('close', () => slot.release());
      }
      // Reaped like a connection that never sends its first message.
      const reaper = setTimeout(() => socket.destroy(), this.upgradeTimeoutMs);
      reapers.set(socket, reaper);
      socket.once('close', () => clearTimeout(reaper));
    });
    const wss = new WebSocketServer({
      server: http,
      maxPayload: this.core.limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      verifyClient: this.options.allowedOrigins?.verifyUpgrade,
    });
    wss.on('connection', (socket, request) => {
      clearTimeout(reapers.get(request.socket));
      const remote = this.options.trustedProxies.clientEndpoint(request.socket, request.headers);
      const duplex = new WebSocketDuplex(socket);
      const slot = slots.get(request.socket);
      if (slot === undefined) this.core.handle(duplex, 'ws', remote);
      else this.core.serve(duplex, 'ws', remote, slot);
    });
    wss.on('error', (error) => this.logger.error({ err: error }, 'WebSocket server error'));
    http.on('error', (error) => this.logger.error({ err: error, listener: 'ws' }, 'listener error'));
    return http;
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
