import { useEffect, useState } from 'react';

/** A wait the api asked for: when it ends (epoch ms) and how long it was (Retry-After). */
export interface Deadline {
  readonly until: number;
  readonly seconds: number;
}

/**
 * Seconds left of `deadline`, ticking once a second; 0 once passed or when unset. Never more than the
 * wait the api named, even before the first tick (the clock reading kept from an earlier render is
 * older than the deadline's).
 */
export function useCountdown(deadline: Deadline | undefined): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (deadline === undefined) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1_000);
    return () => window.clearInterval(timer);
  }, [deadline]);
  if (deadline === undefined) return 0;
  return Math.min(deadline.seconds, Math.max(0, Math.ceil((deadline.until - now) / 1000)));
}
