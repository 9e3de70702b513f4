import { type RelayNodeStats } from '@switchboard/relay-registry';

export interface LoadSource {
  readonly liveSessions: number;
  /** Monotonic total of bytes relayed. */
  readonly bytesRelayed: number;
}

export interface LoadSink {
  update(stats: RelayNodeStats): void;
}

/**
 * Feeds the node registry (RelayNodeAnnouncer) the figures signal's picker compares: live sessions
 * and bytes/s, averaged over each interval rather than sampled, so a burst does not skew the choice.
 */
export class NodeLoadReporter {
  private timer: NodeJS.Timeout | undefined;
  private lastBytes = 0;
  private lastAt = 0;

  constructor(
    private readonly source: LoadSource,
    private readonly sink: LoadSink,
    private readonly intervalMs: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  start(): void {
    this.lastBytes = this.source.bytesRelayed;
    this.lastAt = this.clock();
    this.timer = setInterval(() => this.report(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  report(): void {
    const now = this.clock();
    const bytes = this.source.bytesRelayed;
    const seconds = (now - this.lastAt) / 1000;
    const bytesPerSecond = seconds > 0 ? Math.max(0, bytes - this.lastBytes) / seconds : 0;
    this.lastBytes = bytes;
    this.lastAt = now;
    this.sink.update({ sessions: this.source.liveSessions, bytesPerSecond: Math.round(bytesPerSecond) });
  }
}

/** Where a WebSocket client of `address` connects: the same host, port + 2 (docs/protocol.md §0). */
export function webSocketAddressOf(address: string, defaultPort = 21117): string {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(address);
  if (!match) return address;
  const [, host = '', port] = match;
  return `${host}:${(port === undefined ? defaultPort : Number(port)) + 2}`;
}
