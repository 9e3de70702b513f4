// hbbr's bandwidth limits (docs/protocol.md §6; rustdesk-server src/relay_server.rs `relay`): one
// limiter shared by every session (TOTAL_BANDWIDTH), one per session for both directions together
// (SINGLE_BANDWIDTH), and LIMIT_SPEED instead of the per-session one for blacklisted IPs and for
// sessions downgraded for sustained heavy use. Rates are Mbit/s of 1024² bits, as hbbr reads them.

export const BITS_PER_MBIT = 1024 * 1024;

export interface BandwidthLimits {
  /** Mbit/s shared by all sessions of this node. */
  readonly totalMbps: number;
  /** Mbit/s per session, both directions together. */
  readonly singleMbps: number;
  /** Mbit/s for blacklisted or downgraded sessions. */
  readonly limitSpeedMbps: number;
  /** A session is downgraded once older than downgradeStartMs with a lifetime average above this × single. */
  readonly downgradeThreshold: number;
  readonly downgradeStartMs: number;
}

/** How far ahead a limiter lets traffic run before it must wait (async_speed_limit refills every 100 ms). */
const BURST_MS = 100;

export function mbpsToBytesPerMs(mbps: number): number {
  return (mbps * BITS_PER_MBIT) / 8 / 1000;
}

/**
 * A token bucket that lets a consumer go into debt and tells it how long to wait for the debt to be
 * paid, as async_speed_limit's `consume` does: bytes are sent first, the sender then pauses.
 */
export class TokenBucket {
  private tokens: number;
  private burst: number;
  private bytesPerMs: number;

  constructor(
    mbps: number,
    private last: number,
  ) {
    this.bytesPerMs = mbpsToBytesPerMs(mbps);
    this.burst = this.bytesPerMs * BURST_MS;
    this.tokens = this.burst;
  }

  /** Takes `bytes` at time `now` (ms); returns how many ms to wait before the next take. */
  take(bytes: number, now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.bytesPerMs);
    this.last = now;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : -this.tokens / this.bytesPerMs;
  }
}

export type ThrottleKind = 'single' | 'limit-speed' | 'total';

/** What a pipe asks before reading on: how long to pause after relaying `bytes`. */
export interface ByteBudget {
  consume(bytes: number): number;
}

/**
 * The limits one session runs under; both of its pipes share it. `slow` switches it to LIMIT_SPEED
 * (blacklisted IP, or downgraded); the sweep in the core sets it.
 */
export class SessionBudget implements ByteBudget {
  slow = false;
  /** Which limits have made this session wait at least once. */
  readonly throttledBy = new Set<ThrottleKind>();
  private readonly single: TokenBucket;
  private readonly limited: TokenBucket;

  constructor(
    limits: BandwidthLimits,
    private readonly total: TokenBucket,
    private readonly clock: () => number,
    private readonly onFirstThrottle: (kind: ThrottleKind) => void,
  ) {
    const now = clock();
    this.single = new TokenBucket(limits.singleMbps, now);
    this.limited = new TokenBucket(limits.limitSpeedMbps, now);
  }

  consume(bytes: number): number {
    const now = this.clock();
    const own = (this.slow ? this.limited : this.single).take(bytes, now);
    const shared = this.total.take(bytes, now);
    if (own > 0) this.note(this.slow ? 'limit-speed' : 'single');
    if (shared > 0) this.note('total');
    return Math.max(own, shared);
  }

  private note(kind: ThrottleKind): void {
    if (this.throttledBy.has(kind)) return;
    this.throttledBy.add(kind);
    this.onFirstThrottle(kind);
  }
}

/** hbbr's downgrade rule: lifetime average above threshold × single once older than the start check. */
export function shouldDowngrade(limits: BandwidthLimits, lifetimeMs: number, bytesRelayed: number): boolean {
  if (lifetimeMs <= limits.downgradeStartMs) return false;
  const averageBitsPerSecond = (bytesRelayed * 8 * 1000) / lifetimeMs;
  return averageBitsPerSecond > limits.downgradeThreshold * limits.singleMbps * BITS_PER_MBIT;
}
