import { Counter, Gauge, type Registry } from '@switchboard/observability';

import { type RequestRefusal } from './relay-request';

/** Why a connection was turned away before it could be paired. */
export type Refusal =
  | RequestRefusal
  | 'draining'
  | 'blocklist'
  | 'per-ip-limit'
  /** Over the process-wide cap (maxConnections). */
  | 'connection-cap'
  | 'first-frame-timeout'
  | 'frame-too-large'
  | 'no-ticket'
  /** The ticket names another relay than this node. */
  | 'wrong-relay'
  /** Not from the network signal saw that end on, or both ends from A's (or B's) side. */
  | 'wrong-address'
  | 'ticket-unavailable'
  | 'denied-device';

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;

export function createRelayMetrics(registry: Registry) {
  return {
    accepted: new Counter({
      name: 'switchboard_relay_connections_accepted_total',
      help: 'Relay connections accepted, by transport',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    open: new Gauge({
      name: 'switchboard_relay_connections_open',
      help: 'Relay connections currently open, by transport',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    closed: new Counter({
      name: 'switchboard_relay_connections_closed_total',
      help: 'Relay connections closed, by transport and reason',
      labelNames: ['transport', 'reason'] as const,
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'switchboard_relay_refusals_total',
      help: 'Connections refused before pairing, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    pairs: new Counter({
      name: 'switchboard_relay_pairs_total',
      help: 'Sessions paired (two connections with the same uuid)',
      registers: [registry],
    }),
    sessions: new Gauge({
      name: 'switchboard_relay_sessions_open',
      help: 'Paired sessions currently relaying',
      registers: [registry],
    }),
    waiting: new Gauge({
      name: 'switchboard_relay_connections_waiting',
      help: 'Admitted connections waiting for their partner',
      registers: [registry],
    }),
    unpairedTimeouts: new Counter({
      name: 'switchboard_relay_unpaired_timeouts_total',
      help: 'Connections closed because their partner never came',
      registers: [registry],
    }),
    sessionsClosed: new Counter({
      name: 'switchboard_relay_sessions_closed_total',
      help: 'Paired sessions ended, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    bytes: new Counter({
      name: 'switchboard_relay_bytes_total',
      help: 'Bytes relayed, by direction (the controller is the side that named a peer id)',
      labelNames: ['direction'] as const,
      registers: [registry],
    }),
    throttled: new Counter({
      name: 'switchboard_relay_sessions_throttled_total',
      help: 'Sessions that had to wait for a bandwidth limit at least once, by limit',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    downgraded: new Counter({
      name: 'switchboard_relay_sessions_downgraded_total',
      help: 'Sessions slowed to LIMIT_SPEED for sustained use above DOWNGRADE_THRESHOLD',
      registers: [registry],
    }),
  };
}

/** The node's size and state, read on scrape: the dashboard's load per node is sessions / capacity. */
export function createRelayNodeMetrics(
  registry: Registry,
  node: { capacity: number; draining: () => boolean },
) {
  new Gauge({
    name: 'switchboard_relay_sessions_capacity',
    help: 'Sessions this node is sized for (RELAY_CAPACITY), as announced to signal',
    registers: [registry],
  }).set(node.capacity);
  new Gauge({
    name: 'switchboard_relay_draining',
    help: '1 once the node has stopped taking connections and waits for its sessions to end',
    registers: [registry],
    collect() {
      this.set(node.draining() ? 1 : 0);
    },
  });
}
