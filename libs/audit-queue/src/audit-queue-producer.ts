import { randomUUID } from 'node:crypto';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { Counter, Gauge, type Logger, type Registry } from '@switchboard/observability';

import { AuditCoalescer } from './audit-coalescer';
import {
  AUDIT_JOB_OPTIONS,
  AUDIT_QUEUE_NAME,
  type AuditJob,
  auditJobSchema,
  auditQueuePrefix,
} from './audit-job';
import { type AuditSink, type DataPlaneAuditFact } from './audit-sink';

export interface AuditQueueProducerOptions {
  /** redis:// URL; the producer opens its own connection, lazily. */
  readonly redisUrl: string;
  /** REDIS_KEY_PREFIX of the deployment (the queue lives under `<prefix>:bull`). */
  readonly redisKeyPrefix: string;
  /** `signal` or `relay:<RELAY_NODE_ID>`. */
  readonly actorId: string;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Entries held in memory while Redis is unreachable (default 10,000); beyond that they are dropped and counted. */
  readonly maxBuffered?: number;
  readonly coalesceWindowMs?: number;
  readonly maxCoalescedKeys?: number;
  /** Jobs per addBulk (default 100). */
  readonly batchSize?: number;
  /** First wait before retrying after Redis refused an add; doubles up to 30 s (default 1 s). */
  readonly retryDelayMs?: number;
  /** An add that takes longer counts as failed (default 5 s). Its jobId makes the retry harmless. */
  readonly addTimeoutMs?: number;
  readonly now?: () => number;
}

interface BufferedJob {
  readonly id: string;
  readonly data: AuditJob;
}

const MAX_RETRY_DELAY_MS = 30_000;
const TICK_MS = 1_000;

/**
 * The data plane's AuditSink: facts become audit jobs (coalesced, see audit-coalescer.ts) in a
 * bounded in-memory buffer, which a background loop moves to the BullMQ queue the api consumes.
 * `record` never waits and never throws; with Redis down the buffer holds what it can and the rest
 * is dropped and counted (`switchboard_audit_queue_dropped_total{reason="buffer-full"}`), so neither an outage
 * nor a flood can stall or exhaust the service.
 *
 * Every job gets a random jobId when it is created, before its first add: an add that timed out
 * but did reach Redis is retried with the same id, which BullMQ ignores, so it is appended once.
 */
export class AuditQueueProducer implements AuditSink {
  private readonly redis: Redis;
  private readonly queue: Queue;
  private readonly coalescer: AuditCoalescer;
  private readonly logger: Logger;
  private readonly buffer: BufferedJob[] = [];
  private readonly maxBuffered: number;
  private readonly batchSize: number;
  private readonly addTimeoutMs: number;
  private readonly baseRetryDelayMs: number;
  private readonly metrics: ReturnType<typeof createProducerMetrics>;
  private readonly ticker: NodeJS.Timeout;
  private retryDelayMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private failingSince: number | undefined;
  private overflowing = false;
  private closed = false;

  constructor(options: AuditQueueProducerOptions) {
    this.logger = options.logger.child({ component: 'audit-queue' });
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.batchSize = options.batchSize ?? 100;
    this.addTimeoutMs = options.addTimeoutMs ?? 5_000;
    this.baseRetryDelayMs = options.retryDelayMs ?? 1_000;
    this.retryDelayMs = this.baseRetryDelayMs;
    this.metrics = createProducerMetrics(options.registry, () => this.buffer.length);
    // BullMQ reads the server version as soon as the queue exists and keeps a failure of that for
    // good, so its connection waits for Redis instead of failing fast (and reconnects forever). The
    // drain loop sends only while the link is up and bounds each add, so nothing piles up inside
    // ioredis: what waits, waits in our bounded buffer.
    this.redis = new Redis(options.redisUrl, {
      maxRetriesPerRequest: null,
      connectTimeout: 2_000,
      connectionName: `${options.actorId}:audit`,
    });
    this.redis.on('error', () => undefined); // reported by the drain loop, once per outage
    this.redis.on('ready', () => {
      if (this.buffer.length > 0 && !this.closed) this.retryNow();
    });
    this.queue = new Queue(AUDIT_QUEUE_NAME, {
      connection: this.redis,
      prefix: auditQueuePrefix(options.redisKeyPrefix),
    });
    this.queue.on('error', () => undefined);
    this.coalescer = new AuditCoalescer((job) => this.enqueue(job), {
      actorId: options.actorId,
      windowMs: options.coalesceWindowMs,
      maxKeys: options.maxCoalescedKeys,
      now: options.now,
    });
    this.ticker = setInterval(() => this.coalescer.tick(), TICK_MS);
    this.ticker.unref();
  }

  /** Jobs waiting in memory for Redis. */
  get buffered(): number {
    return this.buffer.length;
  }

  record(fact: DataPlaneAuditFact): void {
    if (this.closed) return;
    try {
      if (!this.coalescer.add(fact)) this.metrics.coalesced.inc();
    } catch (error) {
      // Nothing may escape into the core that called us.
      this.logger.error({ err: error, action: fact.action }, 'audit fact not recorded');
    }
  }

  /** Closes the coalescing windows now, so their counts are queued (tests; shutdown does it too). */
  flushWindows(): void {
    this.coalescer.flushAll();
  }

  /** Resolves once everything buffered has reached Redis (or the next attempt failed). */
  async flush(): Promise<void> {
    this.kick();
    await this.draining;
  }

  /**
   * Queues what the windows hold, tries for up to `deadlineMs` to hand everything to Redis, then
   * closes the connection. What is still buffered is counted as dropped (`shutdown`).
   */
  async close(deadlineMs = 2_000): Promise<void> {
    if (this.closed) return;
    clearInterval(this.ticker);
    this.coalescer.flushAll();
    this.closed = true;
    const deadline = Date.now() + deadlineMs;
    while (this.buffer.length > 0 && Date.now() < deadline) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.kick();
      await this.draining;
      if (this.buffer.length > 0) await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
    }
    clearTimeout(this.retryTimer);
    if (this.buffer.length > 0) {
      this.metrics.dropped.inc({ reason: 'shutdown' }, this.buffer.length);
      this.logger.warn({ lost: this.buffer.length }, 'audit entries not queued before shutdown');
      this.buffer.length = 0;
    }
    // A queue whose Redis is away may never finish closing; the connection is cut regardless.
    await Promise.race([this.queue.close().catch(() => undefined), sleep(500)]);
    this.redis.disconnect();
  }

  private enqueue(job: AuditJob): void {
    // The data plane builds these itself, but an id from the wire may not fit the contract: such an
    // entry is dropped here rather than refused by the consumer after a trip through Redis.
    const parsed = auditJobSchema.safeParse(job);
    if (!parsed.success) {
      this.metrics.dropped.inc({ reason: 'invalid' });
      this.logger.debug({ action: job.action, issues: parsed.error.issues.length }, 'audit entry invalid');
      return;
    }
    if (this.buffer.length >= this.maxBuffered) {
      this.metrics.dropped.inc({ reason: 'buffer-full' });
      if (!this.overflowing) {
        this.overflowing = true;
        this.logger.error({ maxBuffered: this.maxBuffered }, 'audit buffer full; dropping entries');
      }
      return;
    }
    this.buffer.push({ id: randomUUID(), data: parsed.data });
    if (this.retryTimer === undefined) this.kick();
  }

  private kick(): void {
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      if (this.redis.status !== 'ready') {
        this.failed(new Error(`Redis connection ${this.redis.status}`));
        return;
      }
      const batch = this.buffer.slice(0, this.batchSize);
      try {
        await withTimeout(
          this.queue.addBulk(
            batch.map((job) => ({
              name: job.data.action,
              data: job.data,
              opts: { ...AUDIT_JOB_OPTIONS, jobId: job.id },
            })),
          ),
          this.addTimeoutMs,
        );
      } catch (error) {
        this.failed(error);
        return;
      }
      this.buffer.splice(0, batch.length);
      this.metrics.enqueued.inc(batch.length);
      this.recovered();
    }
  }

  /** Redis is back: send now rather than at the end of the backoff. */
  private retryNow(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryDelayMs = this.baseRetryDelayMs;
    this.kick();
  }

  private failed(error: unknown): void {
    if (this.failingSince === undefined) {
      this.failingSince = Date.now();
      this.logger.warn({ err: error, buffered: this.buffer.length }, 'audit queue unreachable; buffering');
    }
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.retryDelayMs);
    this.retryTimer.unref();
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_DELAY_MS);
  }

  private recovered(): void {
    this.retryDelayMs = this.baseRetryDelayMs;
    if (this.buffer.length < this.maxBuffered) this.overflowing = false;
    if (this.failingSince === undefined) return;
    this.logger.info({ downForMs: Date.now() - this.failingSince }, 'audit queue reachable again');
    this.failingSince = undefined;
  }
}

function createProducerMetrics(registry: Registry | undefined, buffered: () => number) {
  const registers = registry ? [registry] : [];
  return {
    enqueued: new Counter({
      name: 'switchboard_audit_queue_enqueued_total',
      help: 'Audit entries handed to the audit queue in Redis',
      registers,
    }),
    coalesced: new Counter({
      name: 'switchboard_audit_queue_coalesced_total',
      help: 'Repeated occurrences folded into a coalesced audit entry instead of one each',
      registers,
    }),
    dropped: new Counter({
      name: 'switchboard_audit_queue_dropped_total',
      help: 'Audit entries lost before reaching Redis, by reason (buffer-full, invalid, shutdown)',
      labelNames: ['reason'] as const,
      registers,
    }),
    buffered: new Gauge({
      name: 'switchboard_audit_queue_buffered',
      help: 'Audit entries waiting in memory for Redis',
      registers,
      collect() {
        this.set(buffered());
      },
    }),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
