import { type Duplex } from 'node:stream';

import { Counter, Gauge, type Logger, type Registry } from '@switchboard/observability';

import { type CloseReason, type ConnectionLimits, type Listener, SignalConnection } from './connection';
import { type PeerEndpoint } from './transport/client-address';

export type SignalLimits = ConnectionLimits;

export const DEFAULT_SIGNAL_LIMITS: SignalLimits = {
  // ARCHITECTURE.md security model; upstream sets no limit at all (RUSTDESK.md §1).
  maxFrameBytes: 64 * 1024,
  // hbbs reads each frame with a 30 s timeout (RUSTDESK.md §5.5).
  messageTimeoutMs: 30_000,
};

export type DatagramReply = (payload: Uint8Array) => void;

export interface SignalCoreOptions {
  logger: Logger;
  registry: Registry;
  limits?: Partial<SignalLimits>;
}

/**
 * The transport-agnostic rendezvous core: TCP, the NAT-test port and WebSocket all arrive here as
 * byte streams, UDP as datagrams. Message handlers (one per RendezvousMessage type) plug into
 * `dispatch`; until they exist every message is logged and its connection closed.
 */
export class SignalCore {
  readonly limits: SignalLimits;
  private readonly logger: Logger;
  private readonly connections = new Set<SignalConnection>();
  private readonly metrics: ReturnType<typeof createSignalMetrics>;
  private shuttingDown = false;

  constructor(options: SignalCoreOptions) {
    this.limits = { ...DEFAULT_SIGNAL_LIMITS, ...options.limits };
    this.logger = options.logger.child({ component: 'signal-core' });
    this.metrics = createSignalMetrics(options.registry);
  }

  get openConnections(): number {
    return this.connections.size;
  }

  handle(stream: Duplex, listener: Listener, remote: PeerEndpoint): void {
    this.metrics.accepted.inc({ listener });
    const connection = new SignalConnection(
      stream,
      listener,
      remote,
      this.limits,
      {
        frame: (conn, frame) => this.dispatch(conn, frame),
        closed: (conn, reason) => this.forget(conn, reason),
      },
      this.logger,
    );
    this.connections.add(connection);
    this.metrics.open.inc({ listener });
    if (this.shuttingDown) {
      connection.destroy('shutdown');
      return;
    }
    connection.start();
  }

  handleDatagram(datagram: Buffer, remote: PeerEndpoint, _reply: DatagramReply): void {
    this.metrics.datagrams.inc();
    // Upstream ignores datagrams it cannot parse (RUSTDESK.md §1); RegisterPeer/RegisterPk land here.
    this.logger.trace(
      { remote: `${remote.address}:${remote.port}`, bytes: datagram.length },
      'datagram ignored',
    );
  }

  /** Refuses new connections and drops every open one (signal's clients reconnect on their own). */
  closeAll(): void {
    this.shuttingDown = true;
    for (const connection of [...this.connections]) connection.destroy('shutdown');
  }

  private dispatch(connection: SignalConnection, frame: Buffer): Promise<void> {
    // A zero-length frame is a legal heartbeat (RUSTDESK.md §1); it only restarts the timeout.
    if (frame.length === 0) return Promise.resolve();
    connection.logger.debug({ bytes: frame.length }, 'no handler for this message yet, closing');
    connection.close('unhandled-message');
    return Promise.resolve();
  }

  private forget(connection: SignalConnection, reason: CloseReason): void {
    if (!this.connections.delete(connection)) return;
    this.metrics.open.dec({ listener: connection.listener });
    this.metrics.closed.inc({ listener: connection.listener, reason });
  }
}

function createSignalMetrics(registry: Registry) {
  return {
    accepted: new Counter({
      name: 'signal_connections_accepted_total',
      help: 'TCP and WebSocket connections accepted, by listener',
      labelNames: ['listener'] as const,
      registers: [registry],
    }),
    open: new Gauge({
      name: 'signal_connections_open',
      help: 'TCP and WebSocket connections currently open, by listener',
      labelNames: ['listener'] as const,
      registers: [registry],
    }),
    closed: new Counter({
      name: 'signal_connections_closed_total',
      help: 'Connections closed, by listener and reason',
      labelNames: ['listener', 'reason'] as const,
      registers: [registry],
    }),
    datagrams: new Counter({
      name: 'signal_datagrams_received_total',
      help: 'UDP datagrams received on the rendezvous port',
      registers: [registry],
    }),
  };
}
