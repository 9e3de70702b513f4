import { type ResyncReason } from '@switchboard/events';

/**
 * After a reconnect, a rebuild id that has not changed for this long is trusted again: the api
 * rebuilds within seconds of its own reconnect, so an id that stays the same means Redis never lost
 * the set (a network blip on the relay's side), and removals missed meanwhile may now take effect.
 */
export const UNCHANGED_REBUILD_TRUSTED_AFTER_MS = 60_000;

/** While a rebuild is awaited the set is read this often, so what it gains reaches the relay soon. */
const AWAITING_REBUILD_REFRESH_MS = 1_000;

/** Set while the copy in Redis may be a lost or restored-old one. */
interface AwaitedRebuild {
  /** The rebuild id seen when trust was lost; a different one means the api rebuilt since. */
  readonly rebuild: string | null;
  readonly since: number;
}

/**
 * Whether a set read from Redis (the deny set, the IP lists) may replace the relay's copy, going by
 * the id the api writes after each complete rebuild from Postgres (libs/relay-registry
 * relay-access-lists.ts). After a reconnect, or with no id at all, Redis may have lost the set or
 * come back with an old one: the copy then keeps what it holds, adds what the set has, and waits
 * until a new rebuild id shows (or the old one has held for UNCHANGED_REBUILD_TRUSTED_AFTER_MS).
 */
export class RebuildTrust {
  private awaited: AwaitedRebuild | undefined;

  constructor(private readonly clock: () => number) {}

  /** While true, refreshes run every second and may end the wait. */
  get awaiting(): boolean {
    return this.awaited !== undefined;
  }

  /** On a resync: true when the snapshot may replace the copy; false starts (or restarts) the wait. */
  trustResync(reason: ResyncReason, rebuild: string | null): boolean {
    if (reason !== 'reconnect' && rebuild !== null) {
      this.awaited = undefined;
      return true;
    }
    this.awaited = { rebuild, since: this.clock() };
    return false;
  }

  /** On a refresh while waiting: true (and the wait ends) when the snapshot is from a rebuild since. */
  rebuiltSince(rebuild: string | null): boolean {
    const awaited = this.awaited;
    if (awaited === undefined || rebuild === null) return false;
    if (rebuild === awaited.rebuild && this.clock() - awaited.since < UNCHANGED_REBUILD_TRUSTED_AFTER_MS) {
      return false;
    }
    this.awaited = undefined;
    return true;
  }
}

/**
 * Calls `refresh` every `refreshMs`, or every second while `trust` awaits a rebuild. Unref'd: it
 * never keeps the process alive.
 */
export function startRefreshTimer(
  refreshMs: number,
  trust: RebuildTrust,
  clock: () => number,
  refresh: () => void,
): NodeJS.Timeout {
  let lastRefresh = clock();
  const timer = setInterval(
    () => {
      if (!trust.awaiting && clock() - lastRefresh < refreshMs) return;
      lastRefresh = clock();
      refresh();
    },
    Math.min(refreshMs, AWAITING_REBUILD_REFRESH_MS),
  );
  timer.unref();
  return timer;
}
