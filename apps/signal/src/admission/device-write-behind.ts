import {
  type ChangeIdOutcome,
  type DeviceRegistrationWrite,
  type DeviceSeenWrite,
} from '@switchboard/data-access';
import { DEVICE_ID_PATTERN } from '@switchboard/domain';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@switchboard/observability';

import { type DeviceRegistration, type DeviceWriterPort } from '../ports';
import { type PendingDeviceRecorder } from './device-access-control';
import { type DeviceWriteBatch, type IdChange, PendingDeviceWrites } from './pending-device-writes';

/** Where the rows go; DeviceRepository is one. */
export interface DeviceWriteStore {
  upsertRegistrations(batch: readonly DeviceRegistrationWrite[]): Promise<number>;
  touchLastSeen(batch: readonly DeviceSeenWrite[]): Promise<number>;
  changeId(oldId: string, newId: string): Promise<ChangeIdOutcome>;
}

export interface DeviceWriteBehindOptions {
  readonly store: DeviceWriteStore;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Admission of a row a registration creates (`approval` → pending); default admitted. */
  readonly admissionForNewDevices?: () => 'admitted' | 'pending';
  /** How often pending registrations and id changes are written. Default 1 s. */
  readonly flushIntervalMs?: number;
  /** Write at once when this many registrations and id changes wait. Default 1,000. */
  readonly flushAtPending?: number;
  /**
   * Heartbeats are written at most this often: each device's last_seen_at then costs one row update
   * per interval, not one per heartbeat (100k peers heartbeating every 15 s would be 6.7k updates/s).
   * Default 60 s.
   */
  readonly seenWriteIntervalMs?: number;
  /** Backoff between attempts while Postgres fails: doubles from min to max. Defaults 500 ms, 30 s. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  readonly now?: () => number;
}

// The devices table's limits (schema.prisma): a record that cannot be stored is refused when
// recorded, so it can never fail, and so hold up, a whole batch.
const MAX_IP_LENGTH = 45;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * DeviceWriterPort as a write-behind: record* returns at once, records coalesce per id in memory
 * (pending-device-writes.ts) and a single flush at a time writes them in batches (one statement per
 * batch and kind). While Postgres is down everything stays pending (bounded by the number of
 * devices), one warning is logged for the outage, attempts back off, and everything is written when
 * it is back: nothing is dropped but records that could never be stored.
 */
export class DeviceWriteBehind implements DeviceWriterPort, PendingDeviceRecorder {
  private readonly pending = new PendingDeviceWrites();
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly metrics: ReturnType<typeof createWriterMetrics>;
  private readonly flushIntervalMs: number;
  private readonly flushAtPending: number;
  private readonly seenWriteIntervalMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private retryDelayMs: number;
  private lastSeenWriteAt: number;
  private flushing: Promise<boolean> = Promise.resolve(true);
  private inFlight: DeviceWriteBatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private outage: { since: number; failures: number; lastError: unknown } | undefined;

  constructor(private readonly options: DeviceWriteBehindOptions) {
    this.logger = options.logger.child({ component: 'device-write-behind' });
    this.now = options.now ?? Date.now;
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
    this.flushAtPending = options.flushAtPending ?? 1_000;
    this.seenWriteIntervalMs = options.seenWriteIntervalMs ?? 60_000;
    this.retryMinMs = options.retryMinMs ?? 500;
    this.retryMaxMs = options.retryMaxMs ?? 30_000;
    this.retryDelayMs = this.retryMinMs;
    this.lastSeenWriteAt = this.now();
    this.metrics = createWriterMetrics(options.registry, this.pending, () => this.outage !== undefined);
  }

  /** Records not yet written (registrations, heartbeats, id changes), a flush in progress included. */
  get pendingCount(): number {
    return this.pending.size + batchSize(this.inFlight);
  }

  /** True from the first failed flush until a flush succeeds again. */
  get failing(): boolean {
    return this.outage !== undefined;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedule(this.flushIntervalMs);
  }

  recordRegistration(registration: DeviceRegistration): void {
    if (!this.accepts(registration.id, registration.ip)) return;
    this.pending.register(registration.id, {
      uuid: registration.uuid,
      pk: registration.pk,
      ip: registration.ip,
      seenAt: registration.at.getTime(),
      admissionIfNew: this.options.admissionForNewDevices?.() ?? 'admitted',
    });
    this.flushSoonIfFull();
  }

  /** A device asked to register under `approval`: its row is created as pending. */
  recordPending(id: string, uuid: Uint8Array, at: Date): void {
    if (!this.accepts(id, '')) return;
    this.pending.registerIfAbsent(id, {
      uuid,
      pk: null,
      ip: null,
      seenAt: at.getTime(),
      admissionIfNew: 'pending',
    });
    this.flushSoonIfFull();
  }

  recordSeen(id: string, ip: string, at: Date): void {
    if (!this.accepts(id, ip)) return;
    this.pending.see(id, ip, at.getTime());
  }

  recordIdChange(oldId: string, newId: string, _at?: Date): void {
    if (!this.accepts(oldId, '') || !this.accepts(newId, '')) return;
    this.pending.rename(oldId, newId);
    this.flushSoonIfFull();
  }

  /**
   * Writes everything pending now, heartbeats included, after any flush in progress. Rejects (with
   * the records kept) when Postgres fails.
   */
  async flush(): Promise<void> {
    if (!(await this.runFlush(true))) {
      throw new Error('device rows could not be written to Postgres', { cause: this.outage?.lastError });
    }
  }

  /**
   * Stops the timer and writes what is pending, retrying until `deadlineMs`; what is still not
   * confirmed written then is logged as lost. Resolves to that number of records (0 normally).
   */
  async stop(deadlineMs = 5_000): Promise<number> {
    if (this.stopped) return this.pending.size;
    this.stopped = true;
    clearTimeout(this.timer);
    const deadline = this.now() + deadlineMs;
    while (this.pending.size > 0 || this.inFlight !== undefined) {
      const remaining = deadline - this.now();
      if (remaining <= 0) break;
      const outcome = await Promise.race([
        this.runFlush(true),
        sleep(remaining).then(() => 'deadline' as const),
      ]);
      if (outcome === 'deadline') break;
      if (!outcome) await sleep(Math.min(this.retryDelayMs, Math.max(deadline - this.now(), 0)));
    }
    const lost = this.pending.size + batchSize(this.inFlight);
    if (lost > 0) {
      this.metrics.dropped.inc({ reason: 'shutdown' }, lost);
      this.logger.error(
        { lost, err: this.outage?.lastError },
        'device writes lost at shutdown: Postgres did not confirm them before the deadline',
      );
    }
    return lost;
  }

  private accepts(id: string, ip: string): boolean {
    if (this.stopped) {
      this.metrics.dropped.inc({ reason: 'after-stop' });
      return false;
    }
    if (DEVICE_ID_PATTERN.test(id) && ip.length <= MAX_IP_LENGTH) return true;
    this.metrics.dropped.inc({ reason: 'invalid' });
    this.logger.warn({ id: id.slice(0, 64), ip: ip.slice(0, 64) }, 'device write refused: not storable');
    return false;
  }

  private flushSoonIfFull(): void {
    if (this.started && this.inFlight === undefined && this.outage === undefined) {
      if (this.pending.registrationCount >= this.flushAtPending) this.schedule(0);
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    const ok = await this.runFlush(this.now() - this.lastSeenWriteAt >= this.seenWriteIntervalMs);
    if (!ok) {
      this.schedule(this.retryDelayMs);
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.retryMaxMs);
      return;
    }
    this.retryDelayMs = this.retryMinMs;
    this.schedule(this.pending.registrationCount >= this.flushAtPending ? 0 : this.flushIntervalMs);
  }

  /** Runs one flush after the one in flight, if any: there is never more than one at a time. */
  private runFlush(includeSeen: boolean): Promise<boolean> {
    const run = this.flushing.then(() => this.flushOnce(includeSeen));
    this.flushing = run;
    return run;
  }

  private async flushOnce(includeSeen: boolean): Promise<boolean> {
    if (this.pending.registrationCount === 0 && (!includeSeen || this.pending.seenCount === 0)) {
      if (includeSeen) this.lastSeenWriteAt = this.now();
      return true;
    }
    const batch = this.pending.take(includeSeen);
    this.inFlight = batch;
    const started = performance.now();
    try {
      await this.write(batch);
      this.pending.settle();
      if (includeSeen) this.lastSeenWriteAt = this.now();
      this.metrics.flushes.inc({ outcome: 'ok' });
      this.metrics.flushSeconds.observe((performance.now() - started) / 1000);
      if (this.outage !== undefined) {
        this.logger.info(
          { outageMs: this.now() - this.outage.since, failedAttempts: this.outage.failures },
          'device writes reach Postgres again; the backlog is written',
        );
        this.outage = undefined;
      }
      return true;
    } catch (error) {
      this.pending.restore(batch);
      this.metrics.flushes.inc({ outcome: 'failed' });
      if (this.outage === undefined) {
        this.outage = { since: this.now(), failures: 0, lastError: error };
        this.logger.warn(
          { err: error, pending: this.pending.size },
          'cannot write device rows; keeping them in memory and retrying until Postgres is back',
        );
      }
      this.outage.failures += 1;
      this.outage.lastError = error;
      return false;
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Id changes first (later records are keyed by the new ids), then registrations, then heartbeats. */
  private async write(batch: DeviceWriteBatch): Promise<void> {
    const { store } = this.options;
    const lostIds = new Set<string>();
    for (let change = batch.idChanges[0]; change !== undefined; change = batch.idChanges[0]) {
      // A rename continuing from one that failed would rename whoever holds that id: skip it too.
      const outcome = lostIds.has(change.oldId) ? 'taken' : await store.changeId(change.oldId, change.newId);
      batch.idChanges.shift();
      if (outcome === 'taken') {
        lostIds.add(change.newId);
        this.dropRenamed(batch, change);
      } else if (outcome === 'changed') {
        this.metrics.written.inc({ kind: 'id-change' });
      }
    }
    if (batch.registrations.size > 0) {
      const rows: DeviceRegistrationWrite[] = [];
      for (const [rustdeskId, registration] of batch.registrations) {
        const { uuid, pk, ip, seenAt, admissionIfNew } = registration;
        rows.push({ rustdeskId, uuid, pk, ip, seenAt: new Date(seenAt), admissionIfNew });
      }
      await store.upsertRegistrations(rows);
      batch.registrations.clear();
      this.metrics.written.inc({ kind: 'registration' }, rows.length);
    }
    if (batch.seen.size > 0) {
      const rows: DeviceSeenWrite[] = [];
      for (const [rustdeskId, seen] of batch.seen)
        rows.push({ rustdeskId, ip: seen.ip, seenAt: new Date(seen.at) });
      await store.touchLastSeen(rows);
      batch.seen.clear();
      this.metrics.written.inc({ kind: 'seen' }, rows.length);
    }
  }

  /**
   * Postgres has another device under the new id (created after signal checked it): the rename did
   * not happen, and the records it moved must not land on that other device's row.
   */
  private dropRenamed(batch: DeviceWriteBatch, change: IdChange): void {
    let dropped = 0;
    if (batch.registrations.get(change.newId)?.renamedFrom === change.oldId) {
      batch.registrations.delete(change.newId);
      dropped += 1;
    }
    if (batch.seen.get(change.newId)?.renamedFrom === change.oldId) {
      batch.seen.delete(change.newId);
      dropped += 1;
    }
    this.metrics.dropped.inc({ reason: 'id-taken' }, dropped + 1);
    this.logger.error(
      { oldId: change.oldId, newId: change.newId, droppedRecords: dropped },
      'id change not written: another device holds the new id in Postgres',
    );
  }
}

function batchSize(batch: DeviceWriteBatch | undefined): number {
  return batch === undefined ? 0 : batch.idChanges.length + batch.registrations.size + batch.seen.size;
}

function createWriterMetrics(registry: Registry, pending: PendingDeviceWrites, failing: () => boolean) {
  new Gauge({
    name: 'switchboard_signal_device_writes_pending',
    help: 'Device records waiting to be written to Postgres, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.set({ kind: 'registration' }, pending.registrationCount);
      this.set({ kind: 'seen' }, pending.seenCount);
    },
  });
  new Gauge({
    name: 'switchboard_signal_device_writes_failing',
    help: '1 while device writes to Postgres fail (they are kept and retried)',
    registers: [registry],
    collect() {
      this.set(failing() ? 1 : 0);
    },
  });
  return {
    written: new Counter({
      name: 'switchboard_signal_device_rows_written_total',
      help: 'Device rows written to Postgres, by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    flushes: new Counter({
      name: 'switchboard_signal_device_flushes_total',
      help: 'Write-behind flushes, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    flushSeconds: new Histogram({
      name: 'switchboard_signal_device_flush_duration_seconds',
      help: 'Time one successful write-behind flush took',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'switchboard_signal_device_writes_dropped_total',
      help: 'Device records never written, by reason (invalid, id-taken, after-stop, shutdown)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
}
