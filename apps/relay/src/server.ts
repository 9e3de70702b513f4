import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';

import { type Logger } from '@switchboard/observability';
import { WebSocketServer } from 'ws';

import { type RelayCore } from './relay-core';
import { normalizeAddress } from './transport/peer-endpoint';
import { WebSocketDuplex } from '@switchboard/transport';

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
  /** Largest WebSocket message accepted; bigger ones close the connection (code 1009). */
  maxWsMessageBytes?: number;
}

/** Opens hbbr's two listeners and hands every client to the core. */
export class RelayServer {
  private readonly logger: Logger;
  private tcp: TcpServer | undefined;
  private http: HttpServer | undefined;
  private bound: RelayAddresses | undefined;

  constructor(
    private readonly core: RelayCore,
    private readonly options: RelayServerOptions,
  ) {
    this.logger = options.logger.child({ component: 'relay-server' });
  }

  get addresses(): RelayAddresses {
    if (!this.bound) throw new Error('RelayServer is not started');
    return this.bound;
  }

  /** Binds both ports or neither. */
  async start(): Promise<RelayAddresses> {
    const { host, port, wsPort } = this.options.ports;
    try {
      this.tcp = createTcpServer({ noDelay: true }, (socket) => {
        this.core.handle(socket, 'tcp', {
          address: normalizeAddress(socket.remoteAddress ?? ''),
          port: socket.remotePort ?? 0,
        });
      });
      this.tcp.on('error', (error) => this.logger.error({ err: error, transport: 'tcp' }, 'listener error'));
      const tcp = await listen(this.tcp, host, port);
      this.http = this.webSocketServer();
      const ws = await listen(this.http, host, wsPort);
      this.bound = { tcp, ws };
      return this.bound;
    } catch (error) {
      await this.close(0);
      throw error;
    }
  }

  /** Stops accepting at once, lets live connections drain for up to `drainMs`, then closes. */
  async close(drainMs: number): Promise<{ cut: number }> {
    const listenersClosed = Promise.all([closeServer(this.tcp), closeServer(this.http)]);
    this.http?.closeIdleConnections();
    const cut = await this.core.drain(drainMs);
    this.http?.closeAllConnections();
    await listenersClosed;
    return { cut };
  }

  private webSocketServer(): HttpServer {
    // Any path: behind a proxy clients use /ws/relay, direct ones the bare port (RUSTDESK.md §0).
    const http = createHttpServer((_request, response) => {
      response.writeHead(426, { Upgrade: 'websocket', Connection: 'close', 'Content-Type': 'text/plain' });
      response.end('WebSocket only\n');
    });
    const wss = new WebSocketServer({
      server: http,
      maxPayload: this.options.maxWsMessageBytes ?? DEFAULT_MAX_WS_MESSAGE_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
    wss.on('connection', (socket, request) => {
      const remote = {
        address: normalizeAddress(request.socket.remoteAddress ?? ''),
        port: request.socket.remotePort ?? 0,
      };
      // hbbr drops empty chunks towards WebSocket peers (RUSTDESK.md §1).
      this.core.handle(new WebSocketDuplex(socket, { dropEmptyFrames: true }), 'ws', remote);
    });
    wss.on('error', (error) => this.logger.error({ err: error }, 'WebSocket server error'));
    http.on('error', (error) => this.logger.error({ err: error, transport: 'ws' }, 'listener error'));
    return http;
  }
}

function listen(server: TcpServer | HttpServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: TcpServer | HttpServer | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}
