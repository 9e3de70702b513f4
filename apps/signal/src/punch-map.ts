/**
 * hbbs's tcp_punch map (docs/protocol.md §5.5): the connection of each A waiting for B's answer, keyed by
 * A's address as B will echo it back. Upstream has neither a cap nor a TTL; like BetterDesk we add
 * both, so a flood of requests that never get an answer cannot grow it without bound.
 */
export interface PunchMapOptions {
  /** Most entries held; a new one then pushes out the oldest. */
  readonly cap: number;
  /** An entry older than this is gone, answered or not. */
  readonly ttlMs: number;
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class PunchMap<V> {
  // A Map iterates in insertion order and `put` re-inserts, so the first entry is always the oldest.
  private readonly entries = new Map<string, Entry<V>>();

  constructor(private readonly options: PunchMapOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** Stores (or refreshes) the entry; returns the value it had to push out to stay under the cap. */
  put(key: string, value: V, now: number): V | undefined {
    this.entries.delete(key);
    let evicted: V | undefined;
    if (this.entries.size >= this.options.cap) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) {
        evicted = this.entries.get(oldest.value)?.value;
        this.entries.delete(oldest.value);
      }
    }
    this.entries.set(key, { value, expiresAt: now + this.options.ttlMs });
    return evicted;
  }

  /** Removes and returns the live entry; sending through the map consumes it, as upstream's does. */
  take(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    return entry.expiresAt > now ? entry.value : undefined;
  }

  /** The live entry without consuming it. */
  peek(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.expiresAt > now ? entry.value : undefined;
  }

  /** Removes the entry only if it still matches (a newer request may have replaced it). */
  removeIf(key: string, matches: (value: V) => boolean): void {
    const entry = this.entries.get(key);
    if (entry !== undefined && matches(entry.value)) this.entries.delete(key);
  }

  /** Drops expired entries; returns how many. */
  sweep(now: number): number {
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) continue;
      this.entries.delete(key);
      removed++;
    }
    return removed;
  }
}
