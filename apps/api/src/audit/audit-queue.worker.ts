import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InvalidAuditEntryError } from '@switchboard/audit';
import { AUDIT_QUEUE_NAME, type AuditJob, auditJobSchema, auditQueuePrefix } from '@switchboard/audit-queue';
import { type AuditAppendInput } from '@switchboard/data-access';
import { Counter, type Logger } from '@switchboard/observability';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';

import { API_CLOCK, API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { type Clock } from '../time/clock';
import { AuditLog } from './audit-log';

const MAX_BACKOFF_MS = 60_000;
const CLOSE_WAIT_MS = 3_000;
/** Once its connections are cut, what the worker's close still gets before shutdown goes on. */
const AFTER_CUT_WAIT_MS = 1_000;
const CLOCK_SLACK_MS = 3_600_000;
// 1000 attempts (AUDIT_JOB_OPTIONS) at most a minute apart.
const DUPLICATE_SEARCH_MAX_MS = 24 * 3_600_000;

type Outcome = 'appended' | 'duplicate' | 'invalid' | 'failed';

/** 1 s, 2 s, 4 s … capped at a minute: a long Postgres outage retries steadily, not ever more rarely. */
export function auditJobBackoff(attemptsMade: number): number {
  return Math.min(1_000 * 2 ** Math.max(0, attemptsMade - 1), MAX_BACKOFF_MS);
}

/**
 * Appends what signal and relay queue (libs/audit-queue) to the chain. Jobs run concurrently so
 * their appends share group commits. Anyone with Redis access can add a job, so each is parsed
 * against the data plane's vocabulary first; one that can never be stored fails at once
 * (UnrecoverableError: no retries) and is counted, while a Postgres failure is retried with backoff.
 */
@Injectable()
export class AuditQueueWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log: Logger;
  private readonly jobs: Counter<'outcome'>;
  private connection: Redis | undefined;
  private worker: Worker | undefined;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
    private readonly audit: AuditLog,
    metrics: MetricsRegistry,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {
    this.log = logger.child({ component: 'audit-queue' });
    this.jobs = new Counter({
      name: 'switchboard_api_audit_queue_jobs_total',
      help: 'Data-plane audit jobs processed, by outcome (appended, duplicate, invalid, failed)',
      labelNames: ['outcome'] as const,
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.AUDIT_QUEUE_WORKER) return;
    // BullMQ's blocking reads need a connection that retries forever; lazy, so an api whose Redis
    // is down still starts (readiness reports it).
    const connection = new Redis(this.config.REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      connectionName: 'switchboard-api:audit-queue',
    });
    let failing = false;
    connection.on('error', (error: Error) => {
      if (!failing) this.log.warn({ err: error }, 'audit queue connection failed; retrying');
      failing = true;
    });
    connection.on('ready', () => (failing = false));
    this.connection = connection;
    this.worker = new Worker(AUDIT_QUEUE_NAME, (job: Job) => this.process(job), {
      connection,
      prefix: auditQueuePrefix(this.config.REDIS_KEY_PREFIX),
      concurrency: this.config.AUDIT_QUEUE_CONCURRENCY,
      settings: { backoffStrategy: auditJobBackoff },
    });
    this.worker.on('error', () => undefined); // the connection's handler logs once per outage
    this.worker.on('failed', (job, error) => {
      if (job && !(error instanceof UnrecoverableError)) {
        this.log.warn({ err: error, jobId: job.id, attempt: job.attemptsMade }, 'audit job will be retried');
      }
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Before AuditLog closes its repository: jobs in flight finish their append first. A dead Redis
    // keeps close() waiting on its commands, so it gets a few seconds; then the worker's connections
    // are cut, which fails what it waits on. (A second close(true) would not help: BullMQ hands back
    // the first, still pending close.)
    const worker = this.worker;
    if (worker === undefined) return;
    const closed = worker.close().catch(() => undefined);
    if (!(await settlesWithin(closed, CLOSE_WAIT_MS))) {
      this.log.warn({ waitedMs: CLOSE_WAIT_MS }, 'audit queue worker did not close; cutting its connections');
      // Not awaited: BullMQ's disconnect waits on the same dead connections.
      void worker.disconnect().catch(() => undefined);
      this.connection?.disconnect();
      await settlesWithin(closed, AFTER_CUT_WAIT_MS);
    }
    this.connection?.disconnect();
  }

  async process(job: Job): Promise<Outcome> {
    const parsed = auditJobSchema.safeParse(job.data);
    if (!parsed.success) {
      this.count('invalid');
      this.log.warn(
        { jobId: job.id, name: job.name, problems: parsed.error.issues.slice(0, 5).map(describeIssue) },
        'audit job dropped: not a data-plane audit entry',
      );
      throw new UnrecoverableError('invalid audit job');
    }
    const jobId = job.id ?? '';
    const entry = toAppendInput(parsed.data, jobId);
    // A retry (or a job reclaimed from a worker that died) may follow an append that did commit.
    if (
      job.attemptsStarted > 1 &&
      (await this.audit.repository.containsQueueJob(
        entry.action,
        jobId,
        duplicateSearchFrom(job, this.clock.now().getTime()),
      ))
    ) {
      this.count('duplicate');
      return 'duplicate';
    }
    try {
      await this.audit.record(entry);
    } catch (error) {
      if (error instanceof InvalidAuditEntryError) {
        this.count('invalid');
        this.log.warn({ jobId, problems: error.problems }, 'audit job dropped: cannot be stored');
        throw new UnrecoverableError('audit entry cannot be stored');
      }
      this.count('failed');
      throw error;
    }
    this.count('appended');
    return 'appended';
  }

  private count(outcome: Outcome): void {
    this.jobs.inc({ outcome });
  }
}

/**
 * The job as a chain entry. Its time is the api's, stamped when it is appended: the producer's clock is
 * not the log's to trust (a skewed or hostile one would misplace the entry in every time filter), so
 * the time the producer reported is kept as `details.reportedAt`, for what it is worth. The job id goes
 * into details so a retry can tell it was appended.
 */
export function toAppendInput(job: AuditJob, jobId: string): AuditAppendInput {
  return {
    actorType: job.actorType,
    actorId: job.actorId,
    action: job.action,
    targetType: job.targetType,
    targetId: job.targetId,
    ip: job.ip,
    details: { ...job.details, reportedAt: job.at, jobId },
  };
}

/**
 * Where a retried job's earlier append can be: not before the job was added (BullMQ's timestamp, from
 * the producer's clock, so with an hour's slack) and not before retries could have started (attempts
 * end within a day).
 */
export function duplicateSearchFrom(job: Pick<Job, 'timestamp'>, now: number): Date {
  const earliest = now - DUPLICATE_SEARCH_MAX_MS;
  const added = Number.isFinite(job.timestamp) ? job.timestamp - CLOCK_SLACK_MS : earliest;
  return new Date(Math.min(now, Math.max(earliest, added)));
}

function describeIssue(issue: { path: PropertyKey[]; message: string }): string {
  const path = issue.path.map(String).join('.');
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

/** Whether `promise` settled within `ms`; it is left running either way. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}
