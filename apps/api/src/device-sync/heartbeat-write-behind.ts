import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DeviceSyncRepository, type HeartbeatWrite } from '@switchboard/data-access';
import { type Logger } from '@switchboard/observability';

import { API_LOGGER } from '../app.tokens';
import { type Repositories } from '../database/repositories';
import { DependencyUnavailableException } from '../errors/dependency-outage';

/** How often buffered heartbeats are written (one statement per flush). */
export const HEARTBEAT_FLUSH_INTERVAL_MS = 1_000;
/** Devices buffered at most; past it (Postgres down for long) new devices get 503 and retry. */
export const HEARTBEAT_BUFFER_LIMIT = 200_000;

/**
 * Heartbeats are recorded in memory and written once a second, the whole batch in one statement, so
 * a heartbeat never waits on a write. A device's newer heartbeat replaces its buffered one. A failed
 * flush puts its batch back (unless newer heartbeats arrived meanwhile) for the next tick; the
 * buffer is flushed once more when the app shuts down.
 */
@Injectable()
export class HeartbeatWriteBehind implements OnModuleInit, BeforeApplicationShutdown {
  private buffer = new Map<string, HeartbeatWrite>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    @Inject(DeviceSyncRepository) private readonly devices: Repositories['deviceSync'],
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'heartbeat-write-behind' });
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), HEARTBEAT_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  record(write: HeartbeatWrite): void {
    if (this.buffer.size >= HEARTBEAT_BUFFER_LIMIT && !this.buffer.has(write.deviceRowId)) {
      throw new DependencyUnavailableException(
        'postgres',
        'Heartbeats cannot be stored right now; try again shortly',
      );
    }
    this.buffer.set(write.deviceRowId, write);
  }

  get buffered(): number {
    return this.buffer.size;
  }

  /** Writes what is buffered; concurrent calls share one flush. Never throws. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.buffer.size === 0) return;
    const batch = this.buffer;
    this.buffer = new Map();
    try {
      await this.devices.flushHeartbeats([...batch.values()]);
    } catch (error) {
      for (const [deviceRowId, write] of batch) {
        if (!this.buffer.has(deviceRowId)) this.buffer.set(deviceRowId, write);
      }
      this.log.warn({ err: error, kept: this.buffer.size }, 'heartbeat flush failed; kept for the next one');
    }
  }
}
