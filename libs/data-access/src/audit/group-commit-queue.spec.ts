import { GroupCommitQueue } from './group-commit-queue';

/** A flush the test completes by hand, recording every batch it was given. */
class ManualFlush {
  readonly batches: number[][] = [];
  private finish: (() => void)[] = [];
  failNext: Error | null = null;

  readonly flush = (items: number[]): Promise<string[]> => {
    this.batches.push(items);
    const failure = this.failNext;
    this.failNext = null;
    return new Promise((resolve, reject) => {
      this.finish.push(() => (failure ? reject(failure) : resolve(items.map((item) => `done ${item}`))));
    });
  };

  /** Completes the flush in flight and lets the queue start its next one. */
  async completeOne(): Promise<void> {
    const next = this.finish.shift();
    if (next === undefined) throw new Error('no flush in flight');
    next();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function settled<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  const [result] = await Promise.allSettled([promise]);
  return result;
}

describe('GroupCommitQueue', () => {
  it('flushes a lone item at once, without waiting for company', async () => {
    const flush = new ManualFlush();
    const queue = new GroupCommitQueue(flush.flush, 10);
    const result = queue.enqueue(1);
    await Promise.resolve();
    await Promise.resolve();
    expect(flush.batches).toEqual([[1]]);
    await flush.completeOne();
    await expect(result).resolves.toBe('done 1');
  });

  it('collects what arrives during a flush into the next batch, capped at maxBatchSize', async () => {
    const flush = new ManualFlush();
    const queue = new GroupCommitQueue(flush.flush, 3);
    const results = [queue.enqueue(1)];
    await new Promise((resolve) => setImmediate(resolve));
    for (let item = 2; item <= 8; item++) results.push(queue.enqueue(item));
    expect(flush.batches).toEqual([[1]]);
    expect(queue.size).toBe(7);

    await flush.completeOne();
    expect(flush.batches).toEqual([[1], [2, 3, 4]]);
    await flush.completeOne();
    await flush.completeOne();
    await flush.completeOne();
    expect(flush.batches).toEqual([[1], [2, 3, 4], [5, 6, 7], [8]]);
    expect(await Promise.all(results)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((item) => `done ${item}`));
  });

  it('rejects every caller of a failed batch and carries on with the next one', async () => {
    const flush = new ManualFlush();
    const queue = new GroupCommitQueue(flush.flush, 2);
    const failure = new Error('connection lost');
    flush.failNext = failure;
    const results = [1, 2, 3].map((item) => settled(queue.enqueue(item)));
    await new Promise((resolve) => setImmediate(resolve));
    await flush.completeOne();
    await flush.completeOne();
    expect(await Promise.all(results)).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
      { status: 'fulfilled', value: 'done 3' },
    ]);
  });

  it('rejects a batch whose flush returns the wrong number of results', async () => {
    const queue = new GroupCommitQueue((items: number[]) => Promise.resolve(items.slice(1)), 5);
    const results = [1, 2].map((item) => settled(queue.enqueue(item)));
    expect((await results[0])?.status).toBe('rejected');
    expect((await results[1])?.status).toBe('rejected');
  });

  it('drain waits for queued and in-flight work', async () => {
    const flush = new ManualFlush();
    const queue = new GroupCommitQueue(flush.flush, 1);
    const results = [queue.enqueue(1), queue.enqueue(2)];
    let drained = false;
    const draining = queue.drain().then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    await flush.completeOne();
    expect(drained).toBe(false);
    await flush.completeOne();
    await draining;
    expect(drained).toBe(true);
    await expect(Promise.all(results)).resolves.toEqual(['done 1', 'done 2']);
    await expect(queue.drain()).resolves.toBeUndefined();
  });

  it('refuses a batch size below one', () => {
    expect(() => new GroupCommitQueue(() => Promise.resolve([]), 0)).toThrow(RangeError);
  });
});
