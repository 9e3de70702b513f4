import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { type AuditKeyring } from '@switchboard/audit';
import { type Logger } from '@switchboard/observability';

import { API_CLOCK, API_CONFIG, API_LOGGER, API_SECRETS } from '../app.tokens';
import { type ApiConfig } from '../config';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { RedisConnection } from '../redis/redis.connection';
import { type ApiSecrets } from '../secrets';
import { type Clock } from '../time/clock';
import { type ChainVerification, registerAuditChainMetrics } from './audit-chain-metrics';
import { AuditLog } from './audit-log';
import { AuditService } from './audit.service';

/** A scrape waits this long at most for the shared result; then it shows what this replica knows. */
const SHARED_READ_TIMEOUT_MS = 500;

export type MonitorRun = 'verified' | 'skipped' | 'failed';

/** Soon enough for a new install's dashboard, late enough to stay out of the start's own work. */
const FIRST_TURN_AFTER_MS = 30_000;

/** After a run that could not walk the chain (Postgres away), the next try: on any replica, this soon. */
const RETRY_AFTER_FAILED_RUN_MS = 60_000;

/** Shortens the lock to the retry delay, only while it is still the one this run took. */
const SHORTEN_OWN_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

export function auditVerifyKeys(redisKeyPrefix: string): { lock: string; result: string } {
  return { lock: `${redisKeyPrefix}:audit-verify:lock`, result: `${redisKeyPrefix}:audit-verify:result` };
}

/**
 * Verifies the whole audit chain every AUDIT_VERIFY_INTERVAL_SECONDS, so a tampered log is noticed
 * without anyone asking (an alert on switchboard_api_audit_chain_verified_ok).
 *
 * With several replicas only one verifies per interval: the first to SET the lock key (NX, expiring
 * after the interval, never released) has the interval; the others skip their turn. The result goes
 * to Redis (MAC'd with a key derived from the audit key, so someone who can write Redis but not hold
 * the audit key cannot paint a broken chain green) and every replica exports the newest one on scrape.
 * That keeps the gauges the same on every replica and fresh on one whose timer never wins, at the
 * cost of one GET per scrape; the chain is walked once per interval however many replicas run.
 *
 * The first turn comes FIRST_TURN_AFTER_MS after the start (or one interval, if shorter), so a new
 * install has a result within a minute; a rolling restart still walks the chain at most once per
 * interval, since a pod whose first turn finds the lock taken skips it, and the shared result
 * carries the gauges across restarts.
 *
 * A run never throws: Postgres or Redis down fails it (logged), and the gauges keep the last result.
 * A run that took the lock but could not walk the chain shortens the lock to RETRY_AFTER_FAILED_RUN_MS
 * and tries again then, so one outage does not leave the chain unchecked for a whole interval.
 */
@Injectable()
export class AuditChainMonitor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log: Logger;
  private readonly keys: { lock: string; result: string };
  private readonly macKey: Buffer;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<MonitorRun> | undefined;
  private stopping = false;
  /** The newest verification this replica ran or read. */
  private latest: ChainVerification | null = null;
  private sharedRead: Promise<ChainVerification | null> | undefined;

  constructor(
    private readonly auditService: AuditService,
    private readonly audit: AuditLog,
    private readonly redis: RedisConnection,
    metrics: MetricsRegistry,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_SECRETS) secrets: ApiSecrets,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'audit-verify' });
    this.keys = auditVerifyKeys(config.REDIS_KEY_PREFIX);
    this.macKey = resultMacKey(secrets.auditKeyring);
    registerAuditChainMetrics(metrics.registry, () => this.newest());
  }

  onApplicationBootstrap(): void {
    const intervalSeconds = this.config.AUDIT_VERIFY_INTERVAL_SECONDS;
    if (intervalSeconds === 0) return;
    const intervalMs = intervalSeconds * 1000;
    this.timer = setTimeout(
      () => {
        if (this.stopping) return;
        void this.run();
        this.timer = setInterval(() => void this.run(), intervalMs);
        this.timer.unref();
      },
      Math.min(intervalMs, FIRST_TURN_AFTER_MS),
    );
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    // A run in flight is not awaited: a long walk would outlast SHUTDOWN_TIMEOUT_MS. Closing Prisma
    // fails it, and `stopping` keeps that failure from being reported as one.
    this.stopping = true;
    clearTimeout(this.timer); // the first turn's timeout or the interval after it: Node clears either
    clearTimeout(this.retryTimer);
  }

  /** One turn of the timer (also what tests drive): at most one run at a time on this replica. */
  run(): Promise<MonitorRun> {
    this.running ??= this.verifyIfOurTurn().finally(() => (this.running = undefined));
    return this.running;
  }

  private async verifyIfOurTurn(): Promise<MonitorRun> {
    const lockToken = randomUUID();
    try {
      const intervalMs = Math.max(1, this.config.AUDIT_VERIFY_INTERVAL_SECONDS) * 1000;
      const claimed = await this.redis.client.set(this.keys.lock, lockToken, 'PX', intervalMs, 'NX');
      if (claimed === null) return 'skipped';
    } catch (error) {
      this.log.warn({ err: error }, 'audit chain verification skipped: Redis unavailable for its lock');
      return 'failed';
    }
    const started = performance.now();
    let verified;
    try {
      verified = await this.auditService.verifyChain();
    } catch (error) {
      if (this.stopping) {
        this.log.info('audit chain verification interrupted by shutdown');
        return 'failed';
      }
      this.log.error({ err: error }, 'audit chain verification failed to run; the last result stands');
      await this.retrySoon(lockToken);
      return 'failed';
    }
    const { result, sources } = verified;
    const run: ChainVerification = {
      ok: result.ok,
      finishedAt: this.clock.now().getTime() / 1000,
      durationSeconds: (performance.now() - started) / 1000,
      entries: result.ok ? result.count : result.checked,
    };
    this.latest = run;
    if (result.ok) {
      this.log.info({ entries: run.entries, durationSeconds: run.durationSeconds }, 'audit chain verified');
    } else {
      const firstBroken = { seq: result.brokenSeq.toString(), reason: result.reason, detail: result.detail };
      this.log.error({ firstBroken, checked: result.checked, checkpoints: sources }, 'audit chain is broken');
      // As a person's POST /api/v1/audit/verify is recorded, by the system: the chain itself says
      // when the break was first seen. A chain intact is not recorded (one entry per interval).
      await this.audit
        .record({
          actorType: 'system',
          actorId: 'api',
          action: 'audit.verified',
          details: {
            ok: false,
            checked: result.checked,
            brokenSeq: firstBroken.seq,
            lastGoodSeq: (result.brokenSeq - 1n).toString(),
            reason: result.reason,
            checkpoints: sources,
            scheduled: true,
          },
        })
        .catch((error: unknown) => this.log.warn({ err: error }, 'broken audit chain not recorded'));
    }
    await this.share(run);
    return 'verified';
  }

  private async retrySoon(lockToken: string): Promise<void> {
    const retryMs = Math.min(RETRY_AFTER_FAILED_RUN_MS, this.config.AUDIT_VERIFY_INTERVAL_SECONDS * 1000);
    try {
      await this.redis.client.eval(SHORTEN_OWN_LOCK, 1, this.keys.lock, lockToken, String(retryMs));
    } catch (error) {
      this.log.debug({ err: error }, 'audit verification lock not shortened; it lapses with its interval');
    }
    if (this.stopping || this.config.AUDIT_VERIFY_INTERVAL_SECONDS === 0) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.run(), retryMs);
    this.retryTimer.unref();
  }

  private async share(run: ChainVerification): Promise<void> {
    const body = JSON.stringify(run);
    try {
      await this.redis.client.set(this.keys.result, JSON.stringify({ body, mac: this.mac(body) }));
    } catch (error) {
      this.log.warn(
        { err: error },
        'audit chain verification result not shared; only this replica exports it',
      );
    }
  }

  /** The newest result: the shared one when it is readable, authentic and newer than ours. */
  private newest(): Promise<ChainVerification | null> {
    // A scrape collects the four gauges at once: they share one read.
    this.sharedRead ??= this.readShared().finally(() => (this.sharedRead = undefined));
    return this.sharedRead;
  }

  private async readShared(): Promise<ChainVerification | null> {
    if (!this.redis.connected) return this.latest;
    let timer: NodeJS.Timeout | undefined;
    try {
      const stored = await Promise.race([
        this.redis.client.get(this.keys.result),
        new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), SHARED_READ_TIMEOUT_MS))),
      ]);
      const shared = stored === null ? null : this.parse(stored);
      if (shared !== null && (this.latest === null || shared.finishedAt > this.latest.finishedAt)) {
        this.latest = shared;
      }
    } catch (error) {
      this.log.debug({ err: error }, 'shared audit chain result unreadable');
    } finally {
      clearTimeout(timer);
    }
    return this.latest;
  }

  private parse(stored: string): ChainVerification | null {
    try {
      const { body, mac } = JSON.parse(stored) as { body?: unknown; mac?: unknown };
      if (typeof body !== 'string' || typeof mac !== 'string') return null;
      const expected = Buffer.from(this.mac(body), 'hex');
      const given = Buffer.from(mac, 'hex');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        this.log.warn('shared audit chain result has a bad MAC; ignored');
        return null;
      }
      const run = JSON.parse(body) as ChainVerification;
      return typeof run.ok === 'boolean' && Number.isFinite(run.finishedAt) ? run : null;
    } catch {
      return null;
    }
  }

  private mac(body: string): string {
    return createHmac('sha256', this.macKey).update(body).digest('hex');
  }
}

/** A key of its own, derived from the current audit key (as auth-audit.ts derives the username digest's). */
function resultMacKey(keyring: AuditKeyring): Buffer {
  const key = keyring.keys.get(keyring.currentKeyId) ?? Buffer.alloc(0);
  return createHmac('sha256', key).update('switchboard.audit.verify-result.v1').digest();
}
