interface Pending<Item, Result> {
  readonly item: Item;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: items enqueued while a flush runs are flushed together by the next one, so under load
 * many callers share one transaction, and an idle queue flushes a lone item at once (no timer).
 * One flush runs at a time; each caller's promise settles with its own result when its batch does.
 */
export class GroupCommitQueue<Item, Result> {
  private pending: Pending<Item, Result>[] = [];
  private running: Promise<void> | null = null;

  constructor(
    /** Writes a batch atomically and returns one result per item, in order; throwing fails the whole batch. */
    private readonly flushBatch: (items: Item[]) => Promise<Result[]>,
    private readonly maxBatchSize: number,
  ) {
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
    }
  }

  get size(): number {
    return this.pending.length;
  }

  enqueue(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      // Starting on the next microtask rather than synchronously lets callers that enqueue in the same
      // tick (e.g. Promise.all over a list) share the first batch, without adding a timer's latency.
      this.running ??= Promise.resolve().then(() => this.run());
    });
  }

  /** Resolves once everything enqueued so far (and anything enqueued meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async run(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatchSize);
      try {
        const results = await this.flushBatch(batch.map((pending) => pending.item));
        if (results.length !== batch.length) {
          throw new Error(`flushBatch returned ${results.length} results for ${batch.length} items`);
        }
        batch.forEach((pending, index) => pending.resolve(results[index] as Result));
      } catch (error) {
        // Each caller learns that its own entry was not written; the queue carries on with the next batch.
        for (const pending of batch) pending.reject(error);
      }
    }
    this.running = null;
  }
}
