import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DeviceStatsRepository } from '@switchboard/data-access';
import { type Logger } from '@switchboard/observability';

import { API_CLOCK, API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { type Repositories } from '../database/repositories';
import { RedisConnection } from '../redis/redis.connection';
import { type Clock } from '../time/clock';

const DAY_MS = 24 * 3600 * 1000;
/** A sample outlives the 24-hour chart by an hour, then Redis drops it. */
const SAMPLE_TTL_SECONDS = 25 * 3600;

/*
 * The online-device count over the last 24 hours, for the dashboard's chart.
 *
 *   <REDIS_KEY_PREFIX>:dashboard:online:<intervalSeconds>:<bucket>  string, the count;
 *        bucket = floor(epoch ms / interval);
 *                                                 SET NX EX 25 h
 *
 * Redis rather than a Postgres table: the samples are a chart, not a record. They expire on their own
 * (no pruning job, no migration, no rows piling up), SET NX makes several api replicas write one sample
 * per bucket without a lock, and a sample lost with Redis is a gap in the chart (shown as null), which
 * is what a gap is. Only the api writes these keys; a Redis writer can distort the chart and nothing else.
 */
@Injectable()
export class OnlineSampler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly intervalMs: number;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(DeviceStatsRepository) private readonly stats: Repositories['deviceStats'],
    private readonly redis: RedisConnection,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.intervalMs = config.DASHBOARD_SAMPLE_INTERVAL_SECONDS * 1000;
    this.log = logger.child({ component: 'online-sampler' });
  }

  get intervalSeconds(): number {
    return this.config.DASHBOARD_SAMPLE_INTERVAL_SECONDS;
  }

  onApplicationBootstrap(): void {
    // Checked several times per interval (an EXISTS), so a bucket gets its sample soon after it opens
    // whichever replica gets there first, and a restart does not skip one.
    const checkMs = Math.min(Math.max(Math.floor(this.intervalMs / 5), 1_000), 60_000);
    this.timer = setInterval(() => void this.sampleNow(), checkMs);
    this.timer.unref();
    void this.sampleNow();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Takes the current bucket's sample unless a replica already has. Never rejects. */
  sampleNow(): Promise<void> {
    this.running ??= this.sample()
      .catch((error: unknown) => this.log.warn({ err: error }, 'online sample not taken'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** One point per interval over the last 24 hours, oldest first; null where no sample was taken. */
  async series(): Promise<{ at: string; online: number | null }[]> {
    const current = this.bucketOf(this.clock.now().getTime());
    const count = Math.ceil(DAY_MS / this.intervalMs);
    const buckets = Array.from({ length: count }, (_, index) => current - count + 1 + index);
    const values = await this.redis.client.mget(buckets.map((bucket) => this.key(bucket)));
    return buckets.map((bucket, index) => {
      const value = Number(values[index] ?? Number.NaN);
      return {
        at: new Date(bucket * this.intervalMs).toISOString(),
        online: Number.isSafeInteger(value) && value >= 0 ? value : null,
      };
    });
  }

  private async sample(): Promise<void> {
    const now = this.clock.now().getTime();
    const key = this.key(this.bucketOf(now));
    // Cheap check first, so N replicas do not all count devices each bucket; SET NX settles a race.
    if ((await this.redis.client.exists(key)) === 1) return;
    const online = await this.stats.online(new Date(now - this.config.DEVICE_ONLINE_WINDOW_SECONDS * 1000));
    await this.redis.client.set(key, String(online), 'EX', SAMPLE_TTL_SECONDS, 'NX');
  }

  private bucketOf(epochMs: number): number {
    return Math.floor(epochMs / this.intervalMs);
  }

  private key(bucket: number): string {
    // The interval is part of the key: after it changes, old samples are not read as new buckets.
    return `${this.config.REDIS_KEY_PREFIX}:dashboard:online:${this.intervalSeconds}:${bucket}`;
  }
}
