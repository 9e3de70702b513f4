import { type StoredDeviceIdentity } from '@switchboard/data-access';

import { type StoredIdentity } from '../ports';

/** Where stored identities are read; DeviceRepository is one. */
export interface StoredIdentitySource {
  findIdentities(rustdeskIds: readonly string[]): Promise<StoredDeviceIdentity[]>;
}

export interface StoredIdentityReaderOptions {
  readonly source: StoredIdentitySource;
  /** Ids per query. Default 1,000. */
  readonly batchSize?: number;
  /**
   * Ids waiting or being read at once; beyond it a read is refused at once. A flood of RegisterPk
   * for known ids must not queue without bound while Postgres is slow. Default 50,000.
   */
  readonly maxWaiting?: number;
}

/** Too many reads are waiting: the caller answers "try later" rather than queue. */
export class StoredIdentityBusyError extends Error {
  constructor() {
    super('too many stored-identity reads waiting');
    this.name = 'StoredIdentityBusyError';
  }
}

interface Waiter {
  readonly promise: Promise<StoredIdentity | null>;
  resolve(identity: StoredIdentity | null): void;
  reject(error: unknown): void;
}

/**
 * Reads stored device identities in batches: after a restart every device's first RegisterPk asks
 * once (a million devices are a thousand queries, not a million). One query runs at a time; ids
 * asked meanwhile go into the next one, and an id asked twice shares one read.
 */
export class StoredIdentityReader {
  private readonly waiting = new Map<string, Waiter>();
  private queue: string[] = [];
  private running = false;
  private readonly batchSize: number;
  private readonly maxWaiting: number;

  constructor(private readonly options: StoredIdentityReaderOptions) {
    this.batchSize = options.batchSize ?? 1_000;
    this.maxWaiting = options.maxWaiting ?? 50_000;
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  read(id: string): Promise<StoredIdentity | null> {
    const existing = this.waiting.get(id);
    if (existing !== undefined) return existing.promise;
    if (this.waiting.size >= this.maxWaiting) return Promise.reject(new StoredIdentityBusyError());
    let resolve!: Waiter['resolve'];
    let reject!: Waiter['reject'];
    const promise = new Promise<StoredIdentity | null>((onResolve, onReject) => {
      resolve = onResolve;
      reject = onReject;
    });
    this.waiting.set(id, { promise, resolve, reject });
    this.queue.push(id);
    if (!this.running) {
      this.running = true;
      // Next turn of the event loop, so the ids of one burst of datagrams share a query.
      setImmediate(() => void this.drain());
    }
    return promise;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const ids = this.queue.splice(0, this.batchSize);
      try {
        const found = new Map(
          (await this.options.source.findIdentities(ids)).map((row) => [row.rustdeskId, row]),
        );
        for (const id of ids) {
          const row = found.get(id);
          this.settle(id)?.resolve(row === undefined ? null : { uuid: row.uuid, pk: row.pk, ip: row.lastIp });
        }
      } catch (error) {
        for (const id of ids) this.settle(id)?.reject(error);
      }
    }
    this.running = false;
  }

  private settle(id: string): Waiter | undefined {
    const waiter = this.waiting.get(id);
    this.waiting.delete(id);
    return waiter;
  }
}
