import { Counter, Gauge, Histogram, type Registry } from '@switchboard/observability';

import { type Refusal } from '../ports';

export type AccessCheck = 'registration' | 'reachable';

const CHECKS: readonly AccessCheck[] = ['registration', 'reachable'];
const REFUSALS: readonly Refusal[] = [
  'banned',
  'revoked',
  'deleted',
  'pending',
  'not-deployed',
  'unknown-device',
];

export interface AccessMetricsSources {
  devices(): number;
  ready(): boolean;
}

/** The admission index's series. Refusal counters are pre-bound: checks sit on the hot path. */
export function createAccessMetrics(registry: Registry, sources: AccessMetricsSources) {
  const refusals = new Counter({
    name: 'switchboard_signal_admission_refusals_total',
    help: 'Access checks the admission policy refused, by check and refusal',
    labelNames: ['check', 'refusal'] as const,
    registers: [registry],
  });
  const bound = new Map<string, Counter.Internal>();
  for (const check of CHECKS) {
    for (const refusal of REFUSALS) bound.set(`${check}:${refusal}`, refusals.labels({ check, refusal }));
  }
  new Gauge({
    name: 'switchboard_signal_admission_devices',
    help: 'Devices in the in-memory admission index',
    registers: [registry],
    collect() {
      this.set(sources.devices());
    },
  });
  new Gauge({
    name: 'switchboard_signal_admission_ready',
    help: '1 once the admission index is loaded and resynchronised with the event stream',
    registers: [registry],
    collect() {
      this.set(sources.ready() ? 1 : 0);
    },
  });
  const policy = new Gauge({
    name: 'switchboard_signal_registration_policy',
    help: 'The registration policy in force (1 for the current one)',
    labelNames: ['policy'] as const,
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'switchboard_signal_admission_reloads_total',
    help: 'Full reloads of the admission index from Postgres, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const reloadSeconds = new Histogram({
    name: 'switchboard_signal_admission_reload_duration_seconds',
    help: 'Time to load the full admission snapshot from Postgres',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    refused(check: AccessCheck, refusal: Refusal): void {
      bound.get(`${check}:${refusal}`)?.inc();
    },
    policy(current: string): void {
      policy.reset();
      policy.set({ policy: current }, 1);
    },
    reloaded(seconds: number): void {
      reloads.inc({ outcome: 'ok' });
      reloadSeconds.observe(seconds);
    },
    reloadFailed(): void {
      reloads.inc({ outcome: 'failed' });
    },
  };
}

export type AccessMetrics = ReturnType<typeof createAccessMetrics>;
