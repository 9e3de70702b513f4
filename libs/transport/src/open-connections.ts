/** One connection's place in an OpenConnections count, until it is released (once). */
export class ConnectionSlot {
  private held = true;

  constructor(
    /** The client's per-IP limit key: its address, or its network for IPv6 (rateLimitKey). */
    readonly key: string,
    private readonly onRelease: () => void,
  ) {}

  /** A bound function, so it can be handed to a socket's 'close' as it is. */
  readonly release = (): void => {
    if (!this.held) return;
    this.held = false;
    this.onRelease();
  };
}

/**
 * Open connections per client IP (rate-limit key) and of everyone together: what signal and the
 * relay check at accept against their per-IP and global caps. Counting only; the caps and what a
 * refusal does are the caller's.
 */
export class OpenConnections {
  private readonly perKey = new Map<string, number>();
  private held = 0;

  /** Of all clients together. */
  get total(): number {
    return this.held;
  }

  countFor(key: string): number {
    return this.perKey.get(key) ?? 0;
  }

  /** Counts one more connection of `key` until the slot is released. */
  take(key: string): ConnectionSlot {
    this.perKey.set(key, this.countFor(key) + 1);
    this.held++;
    return new ConnectionSlot(key, () => this.give(key));
  }

  private give(key: string): void {
    this.held--;
    const left = this.countFor(key) - 1;
    if (left > 0) this.perKey.set(key, left);
    else this.perKey.delete(key);
  }
}
