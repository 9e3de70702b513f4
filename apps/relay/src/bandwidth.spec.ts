import {
  mbpsToBytesPerMs,
  SessionBudget,
  shouldDowngrade,
  TokenBucket,
  type BandwidthLimits,
} from './bandwidth';

const limits: BandwidthLimits = {
  totalMbps: 1024,
  singleMbps: 8,
  limitSpeedMbps: 1,
  downgradeThreshold: 0.66,
  downgradeStartMs: 1_800_000,
};

describe('bandwidth limits (hbbr semantics)', () => {
  it('reads Mbit/s as hbbr does: 1024² bits', () => {
    // 8 Mbit/s = 8 × 1024² / 8 bytes/s = 1 MiB/s.
    expect(mbpsToBytesPerMs(8) * 1000).toBe(1024 * 1024);
  });

  it('lets a sender run 100 ms ahead, then makes it wait exactly for its debt', () => {
    const bucket = new TokenBucket(8, 0);
    const burst = 1024 * 1024 * 0.1;
    expect(bucket.take(burst, 0)).toBe(0);
    // Another 1 MiB at 1 MiB/s: a second's wait.
    expect(bucket.take(1024 * 1024, 0)).toBeCloseTo(1000, 6);
    // Half a second later half of that debt is paid.
    expect(bucket.take(0, 500)).toBeCloseTo(500, 6);
    // Idle time refills no more than the burst.
    expect(bucket.take(burst, 100_000)).toBe(0);
    expect(bucket.take(1, 100_000)).toBeGreaterThan(0);
  });

  it('a session waits for the stricter of its own limit and the shared total, and reports each limit once', () => {
    let now = 0;
    const throttled: string[] = [];
    const total = new TokenBucket(1024, 0);
    const budget = new SessionBudget(
      limits,
      total,
      () => now,
      (kind) => throttled.push(kind),
    );
    expect(budget.consume(2 * 1024 * 1024)).toBeCloseTo(1900, 0); // single: 1 MiB/s, 0.1 s burst
    expect(throttled).toEqual(['single']);
    budget.slow = true; // blacklisted or downgraded: LIMIT_SPEED, 1 Mbit/s = 128 KiB/s
    now = 10_000;
    expect(budget.consume(128 * 1024)).toBeCloseTo(900, 0);
    expect(throttled).toEqual(['single', 'limit-speed']);
    budget.consume(1);
    expect(throttled).toEqual(['single', 'limit-speed']);
  });

  it('the shared total throttles sessions that are each within their own limit', () => {
    const total = new TokenBucket(8, 0);
    const roomy = { ...limits, singleMbps: 1024 };
    const kinds: string[] = [];
    const one = new SessionBudget(
      roomy,
      total,
      () => 0,
      (kind) => kinds.push(kind),
    );
    const two = new SessionBudget(
      roomy,
      total,
      () => 0,
      (kind) => kinds.push(kind),
    );
    expect(one.consume(512 * 1024)).toBeCloseTo(400, 0);
    // The second queues behind the first's debt.
    expect(two.consume(512 * 1024)).toBeCloseTo(900, 0);
    expect(kinds).toEqual(['total', 'total']);
  });

  it('downgrades only after the start check and only above threshold × single on lifetime average', () => {
    const single = 8 * 1024 * 1024; // bits/s
    const bytesAt = (fraction: number, ms: number) => ((fraction * single) / 8) * (ms / 1000);
    expect(shouldDowngrade(limits, 1_000_000, bytesAt(1, 1_000_000))).toBe(false);
    expect(shouldDowngrade(limits, 2_000_000, bytesAt(0.6, 2_000_000))).toBe(false);
    expect(shouldDowngrade(limits, 2_000_000, bytesAt(0.7, 2_000_000))).toBe(true);
  });
});
