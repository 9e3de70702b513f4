import { PeerTimeoutError } from './errors';

/**
 * Items arriving from a socket, taken one at a time with a deadline. An item that arrives after its
 * taker gave up stays queued for the next taker, so a late reply is never lost.
 */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly takers: { resolve: (item: T) => void; reject: (error: Error) => void }[] = [];
  private failure: Error | undefined;

  push(item: T): void {
    const taker = this.takers.shift();
    if (taker) taker.resolve(item);
    else this.items.push(item);
  }

  /** Queued items are still handed out after close; takers beyond them get `error`. */
  close(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const taker of this.takers.splice(0)) taker.reject(error);
  }

  get closed(): boolean {
    return this.failure !== undefined;
  }

  get size(): number {
    return this.items.length;
  }

  shift(timeoutMs: number, what: string): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const taker = {
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const index = this.takers.indexOf(taker);
        if (index !== -1) this.takers.splice(index, 1);
        reject(new PeerTimeoutError(what, timeoutMs));
      }, timeoutMs);
      this.takers.push(taker);
    });
  }
}

/** Rejects with PeerTimeoutError unless `promise` settles first; `onTimeout` releases what it held. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new PeerTimeoutError(what, timeoutMs));
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Marks a promise as handled without changing what awaiting it yields, for results a test may or
 * may not look at (a relay session B opened on its own, say).
 */
export function observed<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
