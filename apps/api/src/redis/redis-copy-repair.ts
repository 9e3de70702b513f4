import { type Logger } from '@switchboard/observability';
import { type Redis } from 'ioredis';

const REPAIR_DELAYS_MS = [1_000, 5_000, 15_000, 30_000];

export interface RedisCopyRepairOptions {
  /** What is kept, for the logs ("relay deny set"). */
  readonly what: string;
  /** Makes the whole copy equal to Postgres; throws when it could not. */
  readonly rebuild: () => Promise<unknown>;
  /** The connection the copy is written through; its coming back triggers a rebuild. */
  readonly redis: Redis;
  readonly log: Logger;
  /** How long start-up waits for the first rebuild before serving anyway. */
  readonly startWaitMs: number;
}

/**
 * When a Redis copy of Postgres state (the relays' deny set and IP lists) is rebuilt in full: at start
 * (awaited, bounded, so a healthy start serves a correct copy at once), whenever the Redis connection
 * comes back (Redis may have restarted without its data, or a fresh replica been promoted), and after
 * a failed write, retried with backoff until a rebuild succeeds.
 */
export class RedisCopyRepair {
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = false;

  constructor(private readonly options: RedisCopyRepairOptions) {
    let lost = false;
    options.redis.on('close', () => (lost = true));
    options.redis.on('ready', () => {
      if (!lost) return;
      lost = false;
      this.now();
    });
  }

  /** The first rebuild, waited for at most startWaitMs: a failure or a hang must not stop the api. */
  async atStart(): Promise<void> {
    const { what, log, startWaitMs: waitMs } = this.options;
    const rebuilt = this.options.rebuild().then(
      () => true,
      (error: unknown) => {
        log.error({ err: error }, `cannot rebuild the ${what} at start; retrying`);
        this.soon();
        return true;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), waitMs);
    });
    if (!(await Promise.race([rebuilt, waited]))) {
      log.warn({ waitedMs: waitMs }, `${what} rebuild still running; serving meanwhile`);
    }
    clearTimeout(timer);
  }

  /** After a write that failed: a rebuild with backoff, unless one is scheduled already. */
  soon(): void {
    if (this.stopped || this.timer !== undefined) return;
    const delay = REPAIR_DELAYS_MS[Math.min(this.attempt, REPAIR_DELAYS_MS.length - 1)] ?? 30_000;
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, delay);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The connection is back: a rebuild at once (a scheduled one is dropped). */
  private now(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.options.log.info(`redis connection back; rebuilding the ${this.options.what}`);
    this.run();
  }

  private run(): void {
    this.options.rebuild().then(
      () => {
        this.attempt = 0;
      },
      (error: unknown) => {
        this.options.log.warn(
          { err: error, attempt: this.attempt },
          `${this.options.what} rebuild failed; retrying`,
        );
        this.soon();
      },
    );
  }
}
