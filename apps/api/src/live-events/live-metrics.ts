import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from '@switchboard/observability';

import { MetricsRegistry } from '../metrics/metrics.registry';

/** Why the api ended a live connection (the client closing its own is not counted). */
export type LiveDropReason = 'too_slow' | 'no_pong' | 'session_ended' | 'access_changed' | 'shutdown';

/** The live stream's series on the ops port's /metrics. */
@Injectable()
export class LiveMetrics {
  readonly connections: Gauge;
  readonly refused: Counter<'status'>;
  readonly sent: Counter<'type'>;
  readonly drops: Counter<'reason'>;
  readonly pollSeconds: Histogram<'source'>;
  readonly pollFailures: Counter<'source'>;

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.connections = new Gauge({
      name: 'switchboard_api_live_connections',
      help: 'Open console live-stream connections on this replica',
      registers,
    });
    this.refused = new Counter({
      name: 'switchboard_api_live_refused_total',
      help: 'Live-stream upgrades refused before the upgrade, by HTTP status',
      labelNames: ['status'] as const,
      registers,
    });
    this.sent = new Counter({
      name: 'switchboard_api_live_messages_sent_total',
      help: 'Frames sent to live-stream connections, by frame type (one per connection)',
      labelNames: ['type'] as const,
      registers,
    });
    this.drops = new Counter({
      name: 'switchboard_api_live_drops_total',
      help: 'Live-stream connections the api ended, by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    this.pollSeconds = new Histogram({
      name: 'switchboard_api_live_poll_seconds',
      help: 'Duration of one live-stream poll (presence, audit, relays)',
      labelNames: ['source'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.pollFailures = new Counter({
      name: 'switchboard_api_live_poll_failures_total',
      help: 'Live-stream polls that failed (Postgres or Redis unavailable)',
      labelNames: ['source'] as const,
      registers,
    });
  }

  drop(reason: LiveDropReason): void {
    this.drops.inc({ reason });
  }
}
