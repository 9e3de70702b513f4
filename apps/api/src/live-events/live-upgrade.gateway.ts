import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import { type Duplex } from 'node:stream';

import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type Logger } from '@switchboard/observability';
import { WebSocketServer } from 'ws';

import { API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { LiveAdmissionService } from './live-admission';
import { LiveHub } from './live-hub';
import { LiveMetrics } from './live-metrics';

export const LIVE_PATH = '/api/v1/live';
const REFUSED_LINGER_MS = 1_000;

/**
 * The edge of the live stream: Node's 'upgrade' event on the api's own HTTP server (Fastify never
 * sees upgrades). Decodes, asks LiveAdmissionService and the hub's caps, then either answers a plain
 * HTTP error on the raw socket (401, 403, 429, 404 for any other path) or hands the upgraded socket
 * to the hub. Nothing here throws past the socket.
 */
@Injectable()
export class LiveUpgradeGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log: Logger;
  private readonly wss: WebSocketServer;
  private server: Server | undefined;
  private readonly listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void this.upgrade(request, socket, head);
  };

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly admission: LiveAdmissionService,
    private readonly hub: LiveHub,
    private readonly metrics: LiveMetrics,
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'live' });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.LIVE_MAX_INCOMING_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.server.on('upgrade', this.listener);
  }

  beforeApplicationShutdown(): void {
    this.server?.off('upgrade', this.listener);
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // A client that resets mid-handshake must not become an unhandled 'error'.
    socket.on('error', () => undefined);
    const remote = request.socket.remoteAddress;
    try {
      const path = (request.url ?? '').split('?')[0];
      if (path !== LIVE_PATH || request.method !== 'GET') {
        this.refuse(socket, 404, 'Not found');
        return;
      }
      const admission = await this.admission.admit(request.headers);
      if (!admission.admitted) {
        this.refuse(socket, admission.status, admission.reason);
        this.log.info({ remote, status: admission.status, reason: admission.reason }, 'live stream refused');
        return;
      }
      const { viewer } = admission;
      const reservation = this.hub.reserve(viewer.userId);
      if (typeof reservation === 'string') {
        const reason =
          reservation === 'user-cap'
            ? 'Too many live connections for this user'
            : 'Too many live connections on this server';
        this.refuse(socket, 429, reason);
        this.log.info({ remote, userId: viewer.userId, reason }, 'live stream refused');
        return;
      }
      if (socket.destroyed) {
        reservation.release();
        return;
      }
      // ws answers a malformed handshake itself (400) and then never calls back: free the slot then.
      socket.once('close', () => reservation.release());
      this.wss.handleUpgrade(request, socket, head, (webSocket) => {
        this.hub.attach(webSocket, viewer, reservation);
      });
    } catch (error) {
      this.log.warn({ err: error, remote }, 'live stream upgrade failed');
      this.refuse(socket, 503, 'Service unavailable');
    }
  }

  private refuse(socket: Duplex, status: number, reason: string): void {
    this.metrics.refused.inc({ status: String(status) });
    if (socket.destroyed) return;
    const body = `${reason}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        '\r\n' +
        body,
    );
    // end() sends everything, then FIN; a client that never closes its side is cut shortly after.
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  }
}
