import { Inject, Injectable } from '@nestjs/common';
import { type Logger } from '@switchboard/observability';

import { API_CONFIG, API_LOGGER } from '../../app.tokens';
import { type ApiConfig } from '../../config';
import { type RelayNodesView } from '../../dashboard/dashboard.dto';
import { RelayNodesService } from '../../dashboard/relay-nodes.service';
import { LiveHub } from '../live-hub';
import { type RelayNodeSummary } from '../live-message';
import { LiveMetrics } from '../live-metrics';
import { PollingSource } from '../polling-source';

/** Bytes per second are rounded to this, so a steady load does not announce a change every poll. */
const RATE_STEP = 1024;

/**
 * relay.changed: the live relay nodes as the dashboard lists them (RelayNodesService: records MACed
 * with the registry key signal and the relays share, so one written straight into Redis is not shown).
 * A new list is sent when a node joins, leaves, starts draining or its load moves. While the registry
 * is unavailable (no key, Redis unreadable) this source sends nothing.
 */
@Injectable()
export class RelayWatcher extends PollingSource {
  private last = '';

  constructor(
    private readonly relays: RelayNodesService,
    private readonly hub: LiveHub,
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
    metrics: LiveMetrics,
  ) {
    super({
      name: 'relays',
      intervalMs: config.LIVE_RELAY_POLL_MS,
      log: logger.child({ component: 'live' }),
      metrics,
    });
    hub.addSource(this);
  }

  protected async baseline(): Promise<void> {
    const view = await this.relays.list();
    this.last = view.available ? JSON.stringify(summarise(view.nodes)) : '';
  }

  protected async poll(): Promise<void> {
    const view = await this.relays.list();
    if (!view.available) return;
    const nodes = summarise(view.nodes);
    const text = JSON.stringify(nodes);
    if (text === this.last) return;
    this.last = text;
    this.hub.send('relay.changed', { nodes });
  }

  protected recovered(): void {
    this.hub.send('resync', { reason: 'source-recovered', scope: ['relays'] });
  }
}

export function summarise(nodes: RelayNodesView['nodes']): RelayNodeSummary[] {
  return nodes.map((node) => ({
    nodeId: node.nodeId,
    address: node.address,
    sessions: node.sessions,
    capacity: node.capacity,
    bytesPerSecond: Math.round(node.bytesPerSecond / RATE_STEP) * RATE_STEP,
    draining: node.draining,
  }));
}
