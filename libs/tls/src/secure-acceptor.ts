import { type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';

import { Counter, type Logger, type Registry } from '@switchboard/observability';

import { certificateNames } from './certificate-pair';
import { type ListenerTlsMode } from './tls-settings';
import { type TlsCredentials } from './tls-credentials';

/** The first byte of every TLS connection: a handshake record (RFC 8446 §5.1, ContentType 22). */
export const TLS_HANDSHAKE_RECORD = 0x16;

export type HandshakeResult = 'ok' | 'failed' | 'timeout' | 'busy';

/** One set per service, shared by its listeners (label `listener`). */
export class TlsListenerMetrics {
  readonly handshakes: Counter<'listener' | 'result'>;
  readonly connections: Counter<'listener' | 'protocol'>;
  readonly unknownServerNames: Counter<'listener'>;

  constructor(registry: Registry) {
    this.handshakes = new Counter({
      name: `switchboard_tls_handshakes_total`,
      help: 'TLS handshakes by listener and result: ok, failed (bad or non-TLS bytes), timeout, busy (too many at once).',
      labelNames: ['listener', 'result'],
      registers: [registry],
    });
    this.connections = new Counter({
      name: `switchboard_tls_listener_connections_total`,
      help: 'Connections a TLS-capable listener handed on, by protocol (tls or plain).',
      labelNames: ['listener', 'protocol'],
      registers: [registry],
    });
    this.unknownServerNames = new Counter({
      name: `switchboard_tls_unknown_server_names_total`,
      help: 'Handshakes whose SNI names a host the certificate does not cover (served the certificate anyway).',
      labelNames: ['listener'],
      registers: [registry],
    });
  }
}

export interface SecureAcceptorOptions {
  /** Metric and log label: `tcp`, `nat-test`, `ws`. */
  readonly listener: string;
  readonly mode: ListenerTlsMode;
  /** Required unless the mode is off. */
  readonly credentials: TlsCredentials | undefined;
  readonly metrics: TlsListenerMetrics | undefined;
  readonly logger: Logger;
  /** Dual mode: a client that sends nothing for this long is closed, as the core would close it. */
  readonly firstByteTimeoutMs: number;
  /**
   * Dual mode on a port where the server speaks first (signal's 21116: the client waits for the
   * server's KeyExchange, rustdesk src/common.rs secure_tcp): a client silent this long is served
   * plain instead of closed. TLS clients send their ClientHello as soon as they connect.
   */
  readonly plainAfterSilenceMs?: number;
  readonly handshakeTimeoutMs: number;
  readonly maxPendingHandshakes: number;
  /** Offered by ALPN (WebSocket ports: http/1.1); none by default. */
  readonly alpnProtocols?: readonly string[];
}

/** What the listener gets: the stream to serve, and whether TLS protects it. */
export type SecuredHandler = (stream: Socket, secured: boolean) => void;

/**
 * Puts TLS in front of an accepted socket as its listener's mode says. `off` hands the socket on
 * untouched. `on` runs the handshake. `dual` waits for the first chunk, pushes it back into the
 * socket's read buffer and looks at its first byte: 0x16 runs the handshake (the TLS socket reads
 * the pushed-back bytes first), anything else hands the plain socket on, paused: the caller
 * resumes it once it listens. The caller applies its per-IP caps before calling this, so a flood
 * of handshakes is bounded by them and by `maxPendingHandshakes`. No error escapes: a bad or
 * stalled handshake closes that socket and is counted.
 */
export class SecureAcceptor {
  private readonly tlsServer: TlsServer | undefined;
  /** Handshakes under way, by the client's address and port, with who gets the secure socket. */
  private readonly waiting = new Map<string, SecuredHandler>();

  constructor(private readonly options: SecureAcceptorOptions) {
    if (options.mode === 'off') return;
    if (options.credentials === undefined) {
      throw new Error(`TLS mode ${options.mode} on ${options.listener} needs a certificate`);
    }
    this.tlsServer = this.createTlsServer(options.credentials);
  }

  get mode(): ListenerTlsMode {
    return this.options.mode;
  }

  accept(socket: Socket, handler: SecuredHandler): void {
    switch (this.options.mode) {
      case 'off':
        handler(socket, false);
        return;
      case 'on':
        this.handshake(socket, handler);
        return;
      case 'dual':
        this.sniff(socket, handler);
        return;
    }
  }

  private sniff(socket: Socket, handler: SecuredHandler): void {
    const { plainAfterSilenceMs } = this.options;
    const handOnPlain = () => {
      this.options.metrics?.connections.inc({ listener: this.options.listener, protocol: 'plain' });
      handler(socket, false);
    };
    let decided = false;
    const servePlainIfSilent = () => {
      if (decided) return;
      stop();
      socket.pause();
      handOnPlain();
    };
    // The check waits one turn of the event loop: under load the timer can come due while a
    // ClientHello that arrived in time is still unread, and the poll phase reads it first.
    const timer =
      plainAfterSilenceMs === undefined
        ? setTimeout(() => socket.destroy(), this.options.firstByteTimeoutMs)
        : setTimeout(() => setImmediate(servePlainIfSilent), plainAfterSilenceMs);
    const stop = () => {
      decided = true;
      clearTimeout(timer);
      socket.off('data', onFirstChunk);
      socket.off('close', stop);
      socket.off('error', stop);
    };
    const onFirstChunk = (chunk: Buffer) => {
      stop();
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE_RECORD) {
        this.handshake(socket, handler);
      } else {
        handOnPlain();
      }
    };
    socket.on('data', onFirstChunk);
    socket.once('close', stop);
    // An error before the first byte only closes this socket (the 'close' that follows cleans up).
    socket.once('error', stop);
    socket.resume();
  }

  private handshake(socket: Socket, handler: SecuredHandler): void {
    const { listener, metrics } = this.options;
    const server = this.tlsServer;
    if (server === undefined || this.waiting.size >= this.options.maxPendingHandshakes) {
      metrics?.handshakes.inc({ listener, result: 'busy' });
      socket.destroy();
      return;
    }
    const key = endpointKey(socket);
    this.waiting.set(key, handler);
    // However the handshake ends, the raw socket closes or the secure socket is handed on.
    socket.once('close', () => {
      if (this.waiting.get(key) === handler) this.waiting.delete(key);
    });
    server.emit('connection', socket);
  }

  /**
   * The TLS side goes through a tls.Server that never listens, fed each socket by 'connection'
   * (the documented way to hand a server a socket): it runs the handshake timeout, and it is what
   * releases a server socket's control after the handshake, without which Node keeps later TLS
   * errors (a client sending plain bytes) to itself and the connection hangs open.
   */
  private createTlsServer(credentials: TlsCredentials): TlsServer {
    const { listener, metrics, logger } = this.options;
    const server = createTlsServer({
      ...credentials.certificate.contextOptions,
      handshakeTimeout: this.options.handshakeTimeoutMs,
      ALPNProtocols: this.options.alpnProtocols ? [...this.options.alpnProtocols] : undefined,
      SNICallback: (serverName, done) => {
        if (!certificateNames(credentials.certificate.leaf, serverName)) {
          metrics?.unknownServerNames.inc({ listener });
        }
        done(null, credentials.context);
      },
    });
    credentials.onChange(() => server.setSecureContext(credentials.certificate.contextOptions));
    server.on('secureConnection', (secure: TLSSocket) => {
      const key = endpointKey(secure);
      const handler = this.waiting.get(key);
      this.waiting.delete(key);
      if (handler === undefined) {
        secure.destroy();
        return;
      }
      metrics?.handshakes.inc({ listener, result: 'ok' });
      metrics?.connections.inc({ listener, protocol: 'tls' });
      handler(secure, true);
    });
    server.on('tlsClientError', (error: Error & { code?: string }, secure: TLSSocket) => {
      const result: HandshakeResult = error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'timeout' : 'failed';
      metrics?.handshakes.inc({ listener, result });
      logger.debug({ err: error, listener, address: secure.remoteAddress }, 'TLS handshake failed');
      secure.destroy();
    });
    return server;
  }
}

/** A live TCP connection's peer address and port: unique among a listener's open sockets. */
function endpointKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
}
