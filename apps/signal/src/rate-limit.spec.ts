import { RegisterPkIpLimiter, WindowLimiter } from './rate-limit';

const hbbs = {
  maxRequests: 30,
  requestIdleResetMs: 60_000,
  maxIds: 300,
  idsIdleResetMs: 86_400_000,
  maxKeys: 1_000,
  ipv6PrefixLength: 64,
};

describe('RegisterPkIpLimiter (hbbs IP_BLOCKER)', () => {
  it('allows the opening request plus 31 counted ones, then refuses until 60 s of quiet', () => {
    const limiter = new RegisterPkIpLimiter(hbbs);
    let allowed = 0;
    for (let i = 0; i < 40; i++) if (limiter.allow('198.51.100.1', '123456789', i)) allowed++;
    expect(allowed).toBe(32);
    // Refusals do not move the idle clock: 60 s after the last allowed request it opens again.
    expect(limiter.allow('198.51.100.1', '123456789', 31 + 60_000)).toBe(false);
    expect(limiter.allow('198.51.100.1', '123456789', 31 + 60_001)).toBe(true);
    expect(limiter.allow('198.51.100.2', '123456789', 40)).toBe(true);
  });

  it('refuses new ids beyond 300 per IP but keeps serving the ids it knows', () => {
    const limiter = new RegisterPkIpLimiter({ ...hbbs, maxRequests: 1e9 });
    const ip = '203.0.113.9';
    limiter.allow(ip, 'opening', 0);
    for (let i = 0; i <= 300; i++) expect(limiter.allow(ip, `id${i}`, i)).toBe(true);
    expect(limiter.allow(ip, 'one-more', 500)).toBe(false);
    expect(limiter.allow(ip, 'id7', 501)).toBe(true);
    // A day without requests clears the set.
    expect(limiter.allow(ip, 'one-more', 501 + 86_400_001)).toBe(true);
  });

  it('counts every address of one IPv6 /64 as one source', () => {
    const limiter = new RegisterPkIpLimiter(hbbs);
    let allowed = 0;
    // A host that picks a fresh address from its /64 for every request still meets one budget.
    for (let i = 0; i < 40; i++)
      if (limiter.allow(`2001:db8:1:2::${(i + 1).toString(16)}`, '123456789', i)) allowed++;
    expect(allowed).toBe(32);
    expect(limiter.allow('2001:db8:1:3::1', '123456789', 40)).toBe(true);
  });

  it('remembers at most maxKeys addresses', () => {
    const limiter = new RegisterPkIpLimiter({ ...hbbs, maxKeys: 100 });
    for (let i = 0; i < 1_000; i++) limiter.allow(`10.0.${i >> 8}.${i & 255}`, 'x', 0);
    expect(limiter.trackedIps).toBeLessThanOrEqual(100);
  });
});

describe('WindowLimiter', () => {
  it('spends a budget per key per window', () => {
    const limiter = new WindowLimiter({ max: 10, windowMs: 1_000, maxKeys: 100 });
    expect(limiter.allow('a', 6, 0)).toBe(true);
    expect(limiter.allow('a', 5, 1)).toBe(false);
    expect(limiter.allow('a', 4, 2)).toBe(true);
    expect(limiter.allow('a', 1, 3)).toBe(false);
    expect(limiter.allow('b', 10, 3)).toBe(true);
    expect(limiter.allow('a', 10, 1_000)).toBe(true);
  });

  it('forgets idle keys and never holds more than maxKeys', () => {
    const limiter = new WindowLimiter({ max: 1, windowMs: 10, maxKeys: 50 });
    for (let i = 0; i < 500; i++) limiter.allow(`k${i}`, 1, i);
    expect(limiter.trackedKeys).toBeLessThanOrEqual(50);
  });
});
