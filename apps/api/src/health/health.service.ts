import { Inject, Injectable } from '@nestjs/common';
import { type Logger, type ReadinessReport as OpsReadinessReport } from '@switchboard/observability';

import { API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { DependencyUnavailableError } from './dependency-unavailable.error';
import { READINESS_CHECKS, type ReadinessCheck } from './readiness-check';

export type CheckResult =
  { status: 'up'; latencyMs: number } | { status: 'down'; latencyMs: number; error: string };

export interface ReadinessReport {
  status: 'ready' | 'unavailable';
  checks: Record<string, CheckResult>;
}

class CheckTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = 'CheckTimeoutError';
  }
}

@Injectable()
export class HealthService {
  private readonly timeoutMs: number;
  private readonly logger: Logger;

  constructor(
    @Inject(READINESS_CHECKS) private readonly checks: readonly ReadinessCheck[],
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.timeoutMs = config.READINESS_TIMEOUT_MS;
    this.logger = logger.child({ component: 'readiness' });
  }

  /** Runs every check in parallel, each bounded by the timeout, so one hung dependency cannot stall the probe. */
  async readiness(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.checks.map(async (check) => [check.name, await this.run(check)] as const),
    );
    const checks = Object.fromEntries(results);
    const ready = results.every(([, result]) => result.status === 'up');
    return { status: ready ? 'ready' : 'unavailable', checks };
  }

  /** The same checks in the ops server's format (libs/observability), served on the ops port only. */
  async opsReadiness(): Promise<OpsReadinessReport> {
    const report = await this.readiness();
    const checks = Object.fromEntries(
      Object.entries(report.checks).map(([name, result]) => [
        name,
        result.status === 'up'
          ? { ok: true, durationMs: result.latencyMs }
          : { ok: false, error: result.error, durationMs: result.latencyMs },
      ]),
    );
    return { ready: report.status === 'ready', checks };
  }

  private async run(check: ReadinessCheck): Promise<CheckResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CheckTimeoutError(this.timeoutMs)), this.timeoutMs);
    });
    try {
      await Promise.race([check.check(), timeout]);
      return { status: 'up', latencyMs: elapsed() };
    } catch (error) {
      // The full error (hosts, ports) goes to the log; the unauthenticated probe only gets a short reason.
      this.logger.warn({ err: error, check: check.name }, 'readiness check failed');
      return { status: 'down', latencyMs: elapsed(), error: publicReason(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function publicReason(error: unknown): string {
  if (error instanceof CheckTimeoutError || error instanceof DependencyUnavailableError) return error.message;
  return 'failed';
}
