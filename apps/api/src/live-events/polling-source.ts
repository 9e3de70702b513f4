import { type Logger } from '@switchboard/observability';

import { type LiveSource } from './live-hub';
import { type LiveMetrics } from './live-metrics';

/** A poll may take at most this share of the time between polls: a slow database is polled less often. */
const MAX_DUTY = 0.1;

export interface PollingSourceOptions {
  readonly name: string;
  readonly intervalMs: number;
  readonly log: Logger;
  readonly metrics: LiveMetrics;
}

/**
 * A source that polls while consoles are connected. `baseline` records the current state without
 * announcing anything; `poll` announces what changed since. A failed poll is logged once per outage;
 * the first success after it re-baselines and calls `recovered`, since changes in between were missed.
 * Polls never overlap, and the next waits at least ten times as long as the last one took.
 */
export abstract class PollingSource implements LiveSource {
  readonly name: string;
  protected readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Bumped by start and stop, so a poll of an earlier run never schedules another. */
  private generation = 0;
  private baselined = false;
  private failing = false;

  protected constructor(private readonly options: PollingSourceOptions) {
    this.name = options.name;
    this.log = options.log;
  }

  protected abstract baseline(): Promise<void>;
  protected abstract poll(): Promise<void>;
  /** Called after a baseline that followed failures. */
  protected abstract recovered(): void;

  async start(): Promise<void> {
    const generation = ++this.generation;
    await this.running;
    this.baselined = false;
    await this.run(generation);
  }

  async stop(): Promise<void> {
    this.generation += 1;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private run(generation: number): Promise<void> {
    const started = performance.now();
    this.running = this.once().finally(() => {
      const tookMs = performance.now() - started;
      this.options.metrics.pollSeconds.observe({ source: this.name }, tookMs / 1000);
      if (generation !== this.generation) return;
      const delay = Math.max(this.options.intervalMs, tookMs / MAX_DUTY);
      this.timer = setTimeout(() => void this.run(generation), delay);
      this.timer.unref();
    });
    return this.running;
  }

  private async once(): Promise<void> {
    try {
      if (this.baselined) {
        await this.poll();
      } else {
        await this.baseline();
        this.baselined = true;
        if (this.failing) this.recovered();
      }
      if (this.failing) this.log.info({ source: this.name }, 'live source recovered');
      this.failing = false;
    } catch (error) {
      this.options.metrics.pollFailures.inc({ source: this.name });
      if (!this.failing)
        this.log.warn({ err: error, source: this.name }, 'live source poll failed; retrying');
      this.failing = true;
      this.baselined = false;
    }
  }
}
