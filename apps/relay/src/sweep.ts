import { type BandwidthLimits, shouldDowngrade } from './bandwidth';
import { type IpAccess } from './ports';
import { type CloseReason, type RelayConnection } from './relay-connection';
import { type RelayMetrics } from './relay-metrics';
import { type RelaySession } from './relay-session';

// The relay's one periodic timer (no per-session timers): hbbr rechecks the blocklist every second
// and idleness every 3 s, and applies its downgrade rule as sessions run; one sweep does all three.

export interface SweepLimits {
  /** hbbr closes a pair when neither side has sent for 30 s. */
  readonly idleTimeoutMs: number;
  /** How often sessions are checked for idleness, the blocklist, the blacklist and the downgrade rule. */
  readonly sweepIntervalMs: number;
}

/** The relay the sweep looks over, and how it ends what it finds (relay-core.ts). */
export interface SweptRelay {
  readonly connections: ReadonlySet<RelayConnection>;
  readonly sessions: ReadonlySet<RelaySession>;
  dropBlocked(connection: RelayConnection): void;
  endSession(session: RelaySession, reason: CloseReason): void;
  /** Adds what these sessions relayed since their last report to the byte counters. */
  reportBytes(sessions: Iterable<RelaySession>): void;
}

export interface RelaySweepOptions {
  readonly limits: SweepLimits;
  readonly bandwidth: BandwidthLimits;
  readonly ips: IpAccess;
  readonly metrics: RelayMetrics;
  /** Monotonic milliseconds. */
  readonly clock: () => number;
}

export class RelaySweep {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly relay: SweptRelay,
    private readonly options: RelaySweepOptions,
  ) {
    this.timer = setInterval(() => this.sweep(), options.limits.sweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Closes every connection from a blocklisted IP: at each sweep, and at once when the list changes. */
  dropBlocklisted(): void {
    const { relay, options } = this;
    for (const connection of [...relay.connections]) {
      if (!connection.closed && options.ips.isBlocked(connection.remote.address))
        relay.dropBlocked(connection);
    }
  }

  private sweep(): void {
    const { relay, options } = this;
    const now = options.clock();
    this.dropBlocklisted();
    for (const session of [...relay.sessions]) {
      const bytes = session.bytes;
      if (bytes !== session.lastSeenBytes) {
        session.lastSeenBytes = bytes;
        session.lastActiveAt = now;
      } else if (now - session.lastActiveAt >= options.limits.idleTimeoutMs) {
        session.connections[0].logger.info({ uuid: session.uuid }, 'session idle, closing');
        relay.endSession(session, 'idle');
        continue;
      }
      if (!session.downgraded && shouldDowngrade(options.bandwidth, now - session.startedAt, bytes)) {
        session.downgraded = true;
        options.metrics.downgraded.inc();
        session.connections[0].logger.info({ uuid: session.uuid }, 'session downgraded to LIMIT_SPEED');
      }
      applySpeedLimit(session, options.ips);
    }
    relay.reportBytes(relay.sessions);
  }
}

/**
 * LIMIT_SPEED instead of the per-session limit for a downgraded session or a blacklisted end: at
 * pairing, so a blacklisted IP is slow from its first byte, and again at every sweep, as lists change.
 */
export function applySpeedLimit(session: RelaySession, ips: IpAccess): void {
  const [first, second] = session.connections;
  session.budget.slow =
    session.downgraded || ips.isBlacklisted(first.remote.address) || ips.isBlacklisted(second.remote.address);
}
