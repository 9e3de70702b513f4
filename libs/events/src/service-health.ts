import { type Redis } from 'ioredis';
import { z } from 'zod';

/*
 * What each data-plane instance tells the operators' dashboard about itself (docs/architecture.md
 * "Redis: events, tickets and relay records"). Under `<REDIS_KEY_PREFIX>`:
 *
 *   health:<service>:<instanceId>  string, a ServiceHealthRecord as JSON, PX ttlMs (default 30 s,
 *                                  rewritten every 10 s): a stopped instance lapses on its own.
 *   health:instances               set of `<service>:<instanceId>`, so reading is SMEMBERS + one MULTI
 *                                  of GETs (no SCAN); members whose record lapsed are removed by the reader.
 *
 * Off every hot path: one timer per process, one MULTI per tick, failures only logged. A Redis writer can
 * forge or hide these records, which misleads the dashboard and nothing else: no service reads them.
 */

export const SERVICE_HEALTH_SERVICES = ['signal', 'relay'] as const;
export type ReportingService = (typeof SERVICE_HEALTH_SERVICES)[number];

const INSTANCE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const serviceHealthRecordSchema = z.object({
  service: z.enum(SERVICE_HEALTH_SERVICES),
  instanceId: z.string().regex(INSTANCE_ID),
  /** The event subscriber is subscribed and resynchronised (what the service's /readyz checks). */
  eventsReady: z.boolean(),
  /** The last event seq its state reflects (RedisEventBus.appliedSeq). */
  appliedSeq: z.number().int().nonnegative(),
  /** Epoch ms on the instance's clock; informational only (liveness is the key's TTL). */
  at: z.number().int().nonnegative(),
});

export type ServiceHealthRecord = z.infer<typeof serviceHealthRecordSchema>;

export interface ServiceHealthKeys {
  readonly index: string;
  record(service: string, instanceId: string): string;
}

export function serviceHealthKeys(redisKeyPrefix: string): ServiceHealthKeys {
  return {
    index: `${redisKeyPrefix}:health:instances`,
    record: (service, instanceId) => `${redisKeyPrefix}:health:${service}:${instanceId}`,
  };
}

/** An instance id from the host name and pid, made to fit the key pattern. */
export function defaultInstanceId(hostname: string, pid: number): string {
  const host = hostname.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'host';
  return `${host}:${pid}`;
}

interface ReporterLogger {
  warn(obj: object, msg: string): void;
}

export interface ServiceHealthReporterOptions {
  readonly redis: Redis;
  readonly redisKeyPrefix: string;
  readonly service: ReportingService;
  readonly instanceId: string;
  /** Read at each tick, never stored: the bus's own getters. */
  readonly read: () => { eventsReady: boolean; appliedSeq: number };
  readonly logger: ReporterLogger;
  readonly intervalMs?: number;
  readonly ttlMs?: number;
  readonly now?: () => number;
}

export const DEFAULT_HEALTH_INTERVAL_MS = 10_000;

/** Writes this instance's record every interval (first at start), deletes it on stop. */
export class ServiceHealthReporter {
  private readonly keys: ServiceHealthKeys;
  private readonly intervalMs: number;
  private readonly ttlMs: number;
  private readonly member: string;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private failing = false;

  constructor(private readonly options: ServiceHealthReporterOptions) {
    if (!INSTANCE_ID.test(options.instanceId)) throw new Error(`invalid instance id "${options.instanceId}"`);
    this.keys = serviceHealthKeys(options.redisKeyPrefix);
    this.intervalMs = options.intervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
    this.ttlMs = options.ttlMs ?? this.intervalMs * 3;
    this.member = `${options.service}:${options.instanceId}`;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    // Also as soon as the shared client opens (or reopens), not an interval later.
    this.options.redis.on('ready', this.onReady);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.options.redis.off('ready', this.onReady);
    await this.writing;
    const { redis, service, instanceId } = this.options;
    if (redis.status !== 'ready') return;
    await redis
      .multi()
      .del(this.keys.record(service, instanceId))
      .srem(this.keys.index, this.member)
      .exec()
      .catch(() => undefined);
  }

  /** One write now; resolves when it is done (tests), never rejects. */
  report(): Promise<void> {
    const { redis, service, instanceId, read, now = Date.now } = this.options;
    const record: ServiceHealthRecord = { service, instanceId, ...read(), at: now() };
    // The service's other Redis users open the shared lazy client; until then there is nothing to report to.
    if (redis.status !== 'ready') return Promise.resolve();
    return redis
      .multi()
      .set(this.keys.record(service, instanceId), JSON.stringify(record), 'PX', this.ttlMs)
      .sadd(this.keys.index, this.member)
      .exec()
      .then(() => {
        this.failing = false;
      })
      .catch((error: unknown) => {
        if (this.failing) return;
        this.failing = true;
        this.options.logger.warn({ err: error }, 'health record not written');
      });
  }

  private readonly onReady = (): void => this.tick();

  private tick(): void {
    this.writing ??= this.report().finally(() => (this.writing = undefined));
  }
}

export interface ListedServiceHealth {
  readonly record: ServiceHealthRecord;
  /** The key's remaining TTL when read. */
  readonly remainingMs: number;
}

/** Every live record (malformed ones skipped); lapsed members are dropped from the index. Rejects if Redis fails. */
export async function readServiceHealth(
  redis: Redis,
  redisKeyPrefix: string,
): Promise<{ instances: ListedServiceHealth[]; malformed: number }> {
  const keys = serviceHealthKeys(redisKeyPrefix);
  const members = (await redis.smembers(keys.index)).filter((member) => member.length <= 200);
  if (members.length === 0) return { instances: [], malformed: 0 };
  const transaction = redis.multi();
  for (const member of members) {
    const key = `${redisKeyPrefix}:health:${member}`;
    transaction.get(key).pttl(key);
  }
  const replies = (await transaction.exec()) ?? [];
  const instances: ListedServiceHealth[] = [];
  const lapsed: string[] = [];
  let malformed = 0;
  members.forEach((member, index) => {
    const value = replies[index * 2]?.[1];
    const remaining = replies[index * 2 + 1]?.[1];
    if (typeof value !== 'string' || typeof remaining !== 'number' || remaining < 0) {
      lapsed.push(member);
      return;
    }
    const parsed = serviceHealthRecordSchema.safeParse(safeJson(value));
    if (!parsed.success || `${parsed.data.service}:${parsed.data.instanceId}` !== member) malformed++;
    else instances.push({ record: parsed.data, remainingMs: remaining });
  });
  // A member re-added between our GET and this SREM is hidden for one interval at most: its next write adds it again.
  if (lapsed.length > 0) await redis.srem(keys.index, ...lapsed);
  return { instances, malformed };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
