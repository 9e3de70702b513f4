import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type Logger } from '@switchboard/observability';
import { type WebSocket } from 'ws';

import { API_CLOCK, API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { type Clock } from '../time/clock';
import { LiveAdmissionService, type LiveViewer } from './live-admission';
import { LiveConnection } from './live-connection';
import {
  LIVE_CLOSE,
  type LiveMessage,
  liveMessage,
  type LiveMessageData,
  type LiveMessageType,
} from './live-message';
import { LiveMetrics } from './live-metrics';

/** Something that feeds the hub while consoles are connected (event bus, pollers). */
export interface LiveSource {
  readonly name: string;
  /** Resolves once the source has its baseline, so changes after the hello are seen. Never rejects. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A connection slot held between admission and the end of the upgrade. */
export interface LiveReservation {
  readonly userId: string;
  release(): void;
}

export type ReserveRefusal = 'user-cap' | 'global-cap';

/** Sources keep running this long after the last console left: a page reload must not re-baseline. */
const SOURCES_LINGER_MS = 30_000;
/** A hello waits at most this long for the sources' baselines (Postgres or Redis may be down). */
const SOURCES_READY_WAIT_MS = 5_000;
/** How long shutdown waits for consoles to answer the close before cutting the rest. */
const SHUTDOWN_CLOSE_WAIT_MS = 1_000;

/**
 * Every live connection of this replica: caps, heartbeats and session checks, and the fan-out of each
 * frame to the connections whose viewer may receive it (serialised once, not per connection). It
 * starts the sources when the first console arrives and stops them when the last has been gone a while.
 */
@Injectable()
export class LiveHub implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly log: Logger;
  private readonly connections = new Set<LiveConnection>();
  private readonly byUser = new Map<string, Set<LiveConnection>>();
  private readonly pendingByUser = new Map<string, number>();
  private pending = 0;
  private readonly sources: LiveSource[] = [];
  /** Whether the sources should run; starts and stops are chained on `lifecycle`, never concurrent. */
  private sourcesWanted = false;
  private lifecycle: Promise<void> = Promise.resolve();
  private lingerTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private ticking = false;
  private shuttingDown = false;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_LOGGER) logger: Logger,
    private readonly admission: LiveAdmissionService,
    private readonly metrics: LiveMetrics,
  ) {
    this.log = logger.child({ component: 'live' });
  }

  get size(): number {
    return this.connections.size;
  }

  addSource(source: LiveSource): void {
    this.sources.push(source);
  }

  /** Holds a slot for `userId`, or says which cap is reached. Synchronous, so two upgrades cannot race past a cap. */
  reserve(userId: string): LiveReservation | ReserveRefusal {
    if (this.connections.size + this.pending >= this.config.LIVE_MAX_CONNECTIONS) return 'global-cap';
    const held = (this.byUser.get(userId)?.size ?? 0) + (this.pendingByUser.get(userId) ?? 0);
    if (held >= this.config.LIVE_MAX_CONNECTIONS_PER_USER) return 'user-cap';
    this.pending += 1;
    this.pendingByUser.set(userId, (this.pendingByUser.get(userId) ?? 0) + 1);
    this.demandChanged();
    let released = false;
    return {
      userId,
      release: () => {
        if (released) return;
        released = true;
        this.pending -= 1;
        const left = (this.pendingByUser.get(userId) ?? 1) - 1;
        if (left === 0) this.pendingByUser.delete(userId);
        else this.pendingByUser.set(userId, left);
        this.demandChanged();
      },
    };
  }

  /** Takes over an upgraded socket: its slot becomes the connection, the hello follows the sources' baselines. */
  attach(socket: WebSocket, viewer: LiveViewer, reservation: LiveReservation): void {
    const connection = new LiveConnection(
      socket,
      viewer,
      { maxBufferedBytes: this.config.LIVE_MAX_BUFFERED_BYTES },
      {
        sent: (type) => this.metrics.sent.inc({ type }),
        dropped: (reason) => this.metrics.drop(reason),
      },
    );
    this.connections.add(connection);
    let mine = this.byUser.get(viewer.userId);
    if (mine === undefined) this.byUser.set(viewer.userId, (mine = new Set()));
    mine.add(connection);
    reservation.release();
    this.metrics.connections.set(this.connections.size);
    this.startHeartbeat();

    // The console has nothing to say: frames are ignored, one over maxPayload makes ws close with 1009.
    socket.on('message', () => undefined);
    socket.on('error', (error) => this.log.debug({ err: error, userId: viewer.userId }, 'live socket error'));
    socket.once('close', () => this.detach(connection));
    void this.greet(connection);
  }

  /** Sends `message` to every open connection that may receive it. */
  broadcast(message: LiveMessage): void {
    if (this.connections.size === 0) return;
    const frame = JSON.stringify(message);
    for (const connection of this.connections) connection.deliver(message.type, frame);
  }

  send<K extends LiveMessageType>(type: K, data: LiveMessageData[K]): void {
    this.broadcast(liveMessage(type, data, this.clock.now()));
  }

  /** UserSessionsRevoked (from any replica): check that user's sessions now rather than at the next tick. */
  async recheckUser(userId: string): Promise<void> {
    const mine = this.byUser.get(userId);
    if (mine !== undefined) await this.checkSessions([...mine]);
  }

  onModuleDestroy(): void {
    clearTimeout(this.lingerTimer);
    clearInterval(this.heartbeatTimer);
  }

  /** Before Fastify closes: upgraded sockets are not the HTTP server's to drain. */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.lingerTimer);
    const closed = [...this.connections].map(
      (connection) => new Promise<void>((resolve) => connection.socket.once('close', () => resolve())),
    );
    for (const connection of this.connections)
      connection.end('shutdown', LIVE_CLOSE.goingAway, 'server shutting down');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_CLOSE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    for (const connection of this.connections) connection.socket.terminate();
    await this.stopSources();
  }

  private async greet(connection: LiveConnection): Promise<void> {
    await this.sourcesReady();
    const { viewer } = connection;
    const hello = liveMessage(
      'hello',
      {
        user: { id: viewer.userId, username: viewer.username, role: viewer.role },
        receives: [...viewer.receives],
        heartbeatMs: this.config.LIVE_HEARTBEAT_INTERVAL_MS,
      },
      this.clock.now(),
    );
    connection.greet('hello', JSON.stringify(hello));
  }

  private detach(connection: LiveConnection): void {
    connection.closed();
    if (!this.connections.delete(connection)) return;
    const mine = this.byUser.get(connection.viewer.userId);
    mine?.delete(connection);
    if (mine?.size === 0) this.byUser.delete(connection.viewer.userId);
    this.metrics.connections.set(this.connections.size);
    if (this.connections.size === 0) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
    }
    this.demandChanged();
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) return;
    this.heartbeatTimer = setInterval(() => void this.tick(), this.config.LIVE_HEARTBEAT_INTERVAL_MS);
    this.heartbeatTimer.unref();
  }

  private async tick(): Promise<void> {
    const alive = [...this.connections].filter((connection) => connection.heartbeat());
    // A slow database must not stack session checks up tick after tick.
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.checkSessions(alive);
    } finally {
      this.ticking = false;
    }
  }

  /** Ends connections whose session is over, or whose access changed; one lookup per session. */
  private async checkSessions(connections: readonly LiveConnection[]): Promise<void> {
    if (connections.length === 0) return;
    try {
      const bySession = new Map<string, LiveConnection[]>();
      for (const connection of connections) {
        const key = connection.viewer.sessionId;
        bySession.set(key, [...(bySession.get(key) ?? []), connection]);
      }
      for (const group of bySession.values()) {
        const [first] = group;
        if (first === undefined) continue;
        const state = await this.admission.sessionState(first.viewer);
        if (state === 'live') continue;
        for (const connection of group) {
          if (state === 'ended') connection.end('session_ended', LIVE_CLOSE.sessionEnded, 'session ended');
          else connection.end('access_changed', LIVE_CLOSE.accessChanged, 'access changed: reconnect');
        }
      }
    } catch (error) {
      // Postgres unavailable: keep the connections (they carry nothing but notifications) and retry next tick.
      this.log.warn({ err: error }, 'live session check failed; retrying at the next heartbeat');
    }
  }

  private demandChanged(): void {
    if (this.shuttingDown) return;
    const demand = this.connections.size + this.pending;
    if (demand > 0) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      if (!this.sourcesWanted) {
        this.sourcesWanted = true;
        this.chain(() => Promise.all(this.sources.map((source) => source.start())));
      }
      return;
    }
    if (!this.sourcesWanted || this.lingerTimer !== undefined) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      void this.stopSources();
    }, SOURCES_LINGER_MS);
    this.lingerTimer.unref();
  }

  private stopSources(): Promise<void> {
    if (this.sourcesWanted) {
      this.sourcesWanted = false;
      this.chain(() => Promise.all(this.sources.map((source) => source.stop())));
    }
    return this.lifecycle;
  }

  private chain(step: () => Promise<unknown>): void {
    this.lifecycle = this.lifecycle
      .then(step)
      .then(() => undefined)
      .catch((error: unknown) => this.log.error({ err: error }, 'live source start or stop failed'));
  }

  private async sourcesReady(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.lifecycle,
      new Promise((resolve) => (timer = setTimeout(resolve, SOURCES_READY_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }
}
