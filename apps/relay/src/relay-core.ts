import { type Duplex } from 'node:stream';

import { Counter, Gauge, type Logger, type Registry } from '@switchboard/observability';

import {
  type CloseReason,
  RelayConnection,
  type RelayConnectionLimits,
  type Transport,
} from './relay-connection';
import { type PeerEndpoint } from './transport/peer-endpoint';

export type RelayLimits = RelayConnectionLimits;

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  // hbbr closes a connection whose RequestRelay has not arrived after 30 s (RUSTDESK.md §6).
  firstFrameTimeoutMs: 30_000,
  maxFirstFrameBytes: 16 * 1024,
};

export interface RelayCoreOptions {
  logger: Logger;
  registry: Registry;
  limits?: Partial<RelayLimits>;
}

/**
 * The transport-agnostic relay core: TCP and WebSocket clients arrive as byte streams. Pairing by
 * uuid, tickets, licence check and bandwidth limits plug into `onFirstFrame`; until they exist every
 * connection is closed once its RequestRelay arrives.
 */
export class RelayCore {
  readonly limits: RelayLimits;
  private readonly logger: Logger;
  private readonly connections = new Set<RelayConnection>();
  private readonly metrics: ReturnType<typeof createRelayMetrics>;
  private idleWaiters: (() => void)[] = [];
  private accepting = true;

  constructor(options: RelayCoreOptions) {
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...options.limits };
    this.logger = options.logger.child({ component: 'relay-core' });
    this.metrics = createRelayMetrics(options.registry);
  }

  get liveConnections(): number {
    return this.connections.size;
  }

  handle(stream: Duplex, transport: Transport, remote: PeerEndpoint): void {
    this.metrics.accepted.inc({ transport });
    const connection = new RelayConnection(
      stream,
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
      connection.destroy('shutdown');
      return;
    }
    connection.start();
  }

  /**
   * Lets live sessions finish for up to `deadlineMs`, then cuts the rest. Resolves with how many
   * had to be cut. New connections arriving meanwhile are refused.
   */
  async drain(deadlineMs: number): Promise<number> {
    this.accepting = false;
    if (this.connections.size > 0) {
      this.logger.info({ live: this.connections.size, deadlineMs }, 'draining live connections');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(timer);
    }
    const cut = this.connections.size;
    for (const connection of [...this.connections]) connection.destroy('shutdown');
    if (cut > 0) this.logger.warn({ cut }, 'drain deadline reached, closed remaining connections');
    return cut;
  }

  private onFirstFrame(connection: RelayConnection, frame: Buffer, rest: Buffer): void {
    connection.logger.debug(
      { bytes: frame.length, buffered: rest.length },
      'pairing not implemented yet, closing',
    );
    connection.close('unpaired');
  }

  private forget(connection: RelayConnection, reason: CloseReason): void {
    if (!this.connections.delete(connection)) return;
    this.metrics.open.dec({ transport: connection.transport });
    this.metrics.closed.inc({ transport: connection.transport, reason });
    if (this.connections.size === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}

function createRelayMetrics(registry: Registry) {
  return {
    accepted: new Counter({
      name: 'relay_connections_accepted_total',
      help: 'Relay connections accepted, by transport',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    open: new Gauge({
      name: 'relay_connections_open',
      help: 'Relay connections currently open, by transport',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    closed: new Counter({
      name: 'relay_connections_closed_total',
      help: 'Relay connections closed, by transport and reason',
      labelNames: ['transport', 'reason'] as const,
      registers: [registry],
    }),
  };
}
