import { Inject, Injectable } from '@nestjs/common';
import { AuditRepository, DeviceStatsRepository } from '@switchboard/data-access';
import { readRefusalCounts, readServiceHealth } from '@switchboard/events';
import { type Logger } from '@switchboard/observability';

import { API_CLOCK, API_CONFIG, API_LOGGER } from '../app.tokens';
import { AuditService } from '../audit/audit.service';
import { type Permission, roleHas } from '../auth/permissions';
import { type Principal } from '../auth/principal';
import { type ApiConfig } from '../config';
import { type Repositories } from '../database/repositories';
import { RedisConnection } from '../redis/redis.connection';
import { type Clock } from '../time/clock';
import { type AuditSummaryView, type DashboardView, type EventHealthView } from './dashboard.dto';
import { OnlineSampler } from './online-sampler';
import { RelayNodesService } from './relay-nodes.service';

const LATEST_AUDIT_ENTRIES = 10;

type Section = 'devices' | 'online24h' | 'refusals24h' | 'relays' | 'events' | 'audit';

/**
 * The dashboard in one call. Each section is read in parallel from its own source; the sections the
 * caller's role may not see are not read at all (and absent from the answer), and a section whose
 * source fails is null and named in `unavailable`, so one outage does not blank the page.
 */
@Injectable()
export class DashboardService {
  private readonly log: Logger;

  constructor(
    @Inject(DeviceStatsRepository) private readonly stats: Repositories['deviceStats'],
    @Inject(AuditRepository) private readonly auditEntries: AuditRepository,
    private readonly auditService: AuditService,
    private readonly sampler: OnlineSampler,
    private readonly relays: RelayNodesService,
    private readonly redis: RedisConnection,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'dashboard' });
  }

  async summary(principal: Principal): Promise<DashboardView> {
    const now = this.clock.now();
    const may = (permission: Permission) => roleHas(principal.role, permission);
    const unavailable: DashboardView['unavailable'] = [];
    const guard = async <T>(section: Section, read: () => Promise<T>): Promise<T | null> => {
      try {
        return await read();
      } catch (error) {
        this.log.warn({ err: error, section }, 'dashboard section unavailable');
        unavailable.push({ section, reason: reasonOf(error) });
        return null;
      }
    };
    const optional = <T>(permission: Permission, section: Section, read: () => Promise<T>) =>
      may(permission) ? guard(section, read) : Promise.resolve(undefined);

    const [devices, online24h, refusals24h, relays, events, audit] = await Promise.all([
      guard('devices', async () => ({
        ...(await this.stats.counts(
          new Date(now.getTime() - this.config.DEVICE_ONLINE_WINDOW_SECONDS * 1000),
        )),
        onlineWindowSeconds: this.config.DEVICE_ONLINE_WINDOW_SECONDS,
      })),
      guard('online24h', async () => ({
        intervalSeconds: this.sampler.intervalSeconds,
        points: await this.sampler.series(),
      })),
      guard('refusals24h', async () => {
        const counts = await readRefusalCounts(
          this.redis.client,
          this.config.REDIS_KEY_PREFIX,
          now.getTime(),
        );
        return {
          since: new Date(counts.since).toISOString(),
          total: Object.values(counts.byReason).reduce((sum, count) => sum + count, 0),
          byReason: counts.byReason,
        };
      }),
      optional('setting.view', 'relays', () => this.relays.list()),
      optional('setting.view', 'events', () => this.eventHealth()),
      optional('audit.view', 'audit', () => this.auditSummary(principal)),
    ]);
    return {
      generatedAt: now.toISOString(),
      devices,
      online24h,
      refusals24h,
      ...(relays === undefined ? {} : { relays }),
      ...(events === undefined ? {} : { events }),
      ...(audit === undefined ? {} : { audit }),
      unavailable,
    };
  }

  private async eventHealth(): Promise<EventHealthView> {
    const prefix = this.config.REDIS_KEY_PREFIX;
    const [rawSeq, health] = await Promise.all([
      this.redis.client.get(`${prefix}:events:seq`),
      readServiceHealth(this.redis.client, prefix),
    ]);
    const seq = rawSeq === null ? 0 : Number(rawSeq);
    const publishedSeq = Number.isSafeInteger(seq) && seq >= 0 ? seq : null;
    const instances = health.instances
      .map(({ record }) => ({
        service: record.service,
        instanceId: record.instanceId,
        eventsReady: record.eventsReady,
        appliedSeq: record.appliedSeq,
        lag: publishedSeq === null ? null : Math.max(0, publishedSeq - record.appliedSeq),
        reportedAt: new Date(record.at).toISOString(),
      }))
      .sort((a, b) => `${a.service}:${a.instanceId}`.localeCompare(`${b.service}:${b.instanceId}`));
    const lags = instances.flatMap((instance) => (instance.lag === null ? [] : [instance.lag]));
    return {
      apiRedisConnected: this.redis.connected,
      publishedSeq,
      instances,
      maxLag: lags.length === 0 ? null : Math.max(...lags),
      unhealthy: instances.filter((instance) => !instance.eventsReady || (instance.lag ?? 0) > 0).length,
    };
  }

  private async auditSummary(principal: Principal): Promise<AuditSummaryView> {
    const [verified, latest] = await Promise.all([
      this.auditEntries.list({ action: 'audit.verified', limit: 1 }),
      this.auditService.list({ limit: LATEST_AUDIT_ENTRIES }, principal),
    ]);
    const entry = verified.entries[0];
    const details = (entry?.details ?? {}) as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    return {
      lastVerification:
        entry === undefined
          ? null
          : {
              at: entry.at.toISOString(),
              seq: entry.seq.toString(),
              actorId: entry.actorId,
              ok: details['ok'] === true,
              checked: typeof details['checked'] === 'number' ? details['checked'] : null,
              headSeq: text(details['headSeq']),
              brokenSeq: text(details['brokenSeq']),
            },
      latest: latest.entries,
    };
  }
}

function reasonOf(error: unknown): string {
  const name = error instanceof Error ? error.name : 'Error';
  return name === 'ReplyError' || /redis/i.test(String((error as Error)?.message)) ? 'redis' : 'unavailable';
}
