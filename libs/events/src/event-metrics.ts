import { Counter, Gauge, Histogram, type Registry } from '@switchboard/observability';

import { type ResyncReason } from './event-bus';

/**
 * Apply lag buckets, in seconds: a ban is expected to reach every subscriber within tens of
 * milliseconds (the alert fires at a p99 above 100 ms), and a resync after an outage takes seconds.
 */
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the dispatcher reports; the Redis bus backs it with Prometheus series. */
export interface EventDispatchMetrics {
  /** An event went through its handlers; `publishedAt` is the envelope's ISO time. */
  applied(type: string, publishedAt: string): void;
  gap(): void;
  resync(reason: ResyncReason): void;
  rejectedFrame(): void;
}

/**
 * A subscriber's series, the same names in signal, relay and api (Prometheus's `job` tells them
 * apart). The lag is measured against the publisher's clock: hosts must keep their clocks in step
 * (NTP) for it to mean anything across machines; a negative lag from a clock ahead counts as 0.
 */
export function createEventMetrics(
  registry: Registry,
  subscriber: { readonly ready: boolean },
  now: () => number = Date.now,
): EventDispatchMetrics {
  const registers = [registry];
  const applied = new Counter({
    name: 'switchboard_events_applied_total',
    help: 'Control events applied by this subscriber, by event type',
    labelNames: ['type'] as const,
    registers,
  });
  const lag = new Histogram({
    name: 'switchboard_events_apply_lag_seconds',
    help: 'Time from an event being published to this subscriber having applied it, by event type',
    labelNames: ['type'] as const,
    buckets: LAG_BUCKETS,
    registers,
  });
  const gaps = new Counter({
    name: 'switchboard_events_gaps_total',
    help: 'Sequence gaps seen (a lost or invalid event); each one is followed by a resync',
    registers,
  });
  const resyncs = new Counter({
    name: 'switchboard_events_resyncs_total',
    help: 'Full reloads of the state events keep up to date, by reason (start, reconnect, gap)',
    labelNames: ['reason'] as const,
    registers,
  });
  const rejected = new Counter({
    name: 'switchboard_events_rejected_frames_total',
    help: 'Frames dropped because their signature did not hold (forged, or signed by another key)',
    registers,
  });
  new Gauge({
    name: 'switchboard_events_subscriber_ready',
    help: '1 while the subscriber is caught up and listening; 0 while it resyncs or Redis is unreachable',
    registers,
    collect() {
      this.set(subscriber.ready ? 1 : 0);
    },
  });
  return {
    applied(type, publishedAt) {
      applied.labels(type).inc();
      const published = Date.parse(publishedAt);
      if (Number.isFinite(published)) lag.labels(type).observe(Math.max(0, now() - published) / 1000);
    },
    gap: () => gaps.inc(),
    resync: (reason) => resyncs.labels(reason).inc(),
    rejectedFrame: () => rejected.inc(),
  };
}
