import { type Redis } from 'ioredis';

/*
 * Registrations signal refused, counted for the operators' dashboard (docs/architecture.md "Redis:
 * events, tickets and relay records"). Under `<REDIS_KEY_PREFIX>`:
 *
 *   dashboard:refusals:<hour>  hash reason → count, <hour> = floor(epoch ms / 3,600,000) on the writer's
 *                              clock; EXPIRE 25 h, so the last 24 hours are always there to sum.
 *
 * A refusal only bumps a number in memory; every flush interval (default 5 s) the counts go out as one
 * MULTI of HINCRBYs, whatever the refusal rate. Counts are attempts, not devices: a refused client
 * retries every few seconds. A Redis writer can inflate or erase them, which misleads the dashboard
 * and nothing else: no service reads them back.
 */

export const REFUSAL_BUCKET_MS = 3_600_000;
const REFUSAL_TTL_SECONDS = 25 * 3600;
const REASON = /^[a-z0-9-]{1,40}$/;

export function refusalBucketKey(redisKeyPrefix: string, hour: number): string {
  return `${redisKeyPrefix}:dashboard:refusals:${hour}`;
}

interface TallyLogger {
  warn(obj: object, msg: string): void;
}

export interface RefusalTallyOptions {
  readonly redis: Redis;
  readonly redisKeyPrefix: string;
  readonly logger: TallyLogger;
  readonly flushIntervalMs?: number;
  readonly now?: () => number;
  /** Distinct reasons kept between flushes; more are dropped (reasons are a closed set in practice). */
  readonly maxReasons?: number;
}

/** In-memory counts per (hour, reason), flushed in batches. `count` is a Map lookup and an add. */
export class RefusalTally {
  private pending = new Map<number, Map<string, number>>();
  private readonly now: () => number;
  private readonly maxReasons: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failing = false;

  constructor(private readonly options: RefusalTallyOptions) {
    this.now = options.now ?? Date.now;
    this.maxReasons = options.maxReasons ?? 64;
  }

  count(reason: string): void {
    const hour = Math.floor(this.now() / REFUSAL_BUCKET_MS);
    let bucket = this.pending.get(hour);
    if (bucket === undefined) {
      bucket = new Map();
      this.pending.set(hour, bucket);
    }
    const current = bucket.get(reason);
    if (current !== undefined) bucket.set(reason, current + 1);
    else if (bucket.size < this.maxReasons && REASON.test(reason)) bucket.set(reason, 1);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs ?? 5_000);
    this.timer.unref();
  }

  /** Last flush on shutdown. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Sends what was counted since the last flush; on failure it is counted again next time. Never rejects. */
  flush(): Promise<void> {
    this.flushing ??= this.send().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async send(): Promise<void> {
    if (this.pending.size === 0) return;
    // Kept in memory until the service's other Redis users have opened the shared lazy client.
    if (this.options.redis.status !== 'ready') {
      this.merge(new Map());
      return;
    }
    const batch = this.pending;
    this.pending = new Map();
    const { redis, redisKeyPrefix } = this.options;
    const transaction = redis.multi();
    for (const [hour, reasons] of batch) {
      const key = refusalBucketKey(redisKeyPrefix, hour);
      for (const [reason, count] of reasons) transaction.hincrby(key, reason, count);
      transaction.expire(key, REFUSAL_TTL_SECONDS);
    }
    try {
      const replies = await transaction.exec();
      const failed = replies?.find(([error]) => error !== null)?.[0];
      if (replies === null || failed) throw failed ?? new Error('transaction aborted');
      this.failing = false;
    } catch (error) {
      this.merge(batch);
      if (!this.failing)
        this.options.logger.warn({ err: error }, 'refusal counts not flushed; kept for the next try');
      this.failing = true;
    }
  }

  /** Puts an unsent batch back, dropping hours that have left the 24 h window meanwhile. */
  private merge(batch: Map<number, Map<string, number>>): void {
    const oldest = Math.floor(this.now() / REFUSAL_BUCKET_MS) - 24;
    for (const hour of this.pending.keys()) if (hour < oldest) this.pending.delete(hour);
    for (const [hour, reasons] of batch) {
      if (hour < oldest) continue;
      const bucket = this.pending.get(hour) ?? new Map<string, number>();
      for (const [reason, count] of reasons) bucket.set(reason, (bucket.get(reason) ?? 0) + count);
      this.pending.set(hour, bucket);
    }
  }
}

/** Sums the hourly buckets of the last 24 hours (the current hour and the 23 before it). */
export async function readRefusalCounts(
  redis: Redis,
  redisKeyPrefix: string,
  nowMs: number,
): Promise<{ since: number; byReason: Record<string, number> }> {
  const current = Math.floor(nowMs / REFUSAL_BUCKET_MS);
  const hours = Array.from({ length: 24 }, (_, index) => current - 23 + index);
  const transaction = redis.multi();
  for (const hour of hours) transaction.hgetall(refusalBucketKey(redisKeyPrefix, hour));
  const replies = (await transaction.exec()) ?? [];
  // A Map, not an object: a reason read from Redis could be named `constructor`.
  const byReason = new Map<string, number>();
  for (const [error, value] of replies) {
    if (error !== null || value === null || typeof value !== 'object') continue;
    for (const [reason, text] of Object.entries(value as Record<string, string>)) {
      const count = Number(text);
      if (!REASON.test(reason) || !Number.isSafeInteger(count) || count <= 0) continue;
      byReason.set(reason, (byReason.get(reason) ?? 0) + count);
    }
  }
  return { since: (current - 23) * REFUSAL_BUCKET_MS, byReason: Object.fromEntries(byReason) };
}
