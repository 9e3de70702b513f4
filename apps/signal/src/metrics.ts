import { Counter, Gauge, type Registry } from '@switchboard/observability';
import { type RendezvousCase } from '@switchboard/protocol';

import { type ProxyOutcome } from './api-proxy/api-forwarder';
import { type CallerTokenOutcome } from './caller/conn-audit-refs';
import { type CloseReason, type Listener } from './connection';

export type Transport = 'udp' | Listener;

/** What became of a PunchHoleRequest (§5.6) or of B's answer to one. */
export type PunchOutcome =
  | 'punch-hole-sent-to-peer'
  | 'fetch-local-addr-sent-to-peer'
  | 'licence-mismatch'
  | 'id-not-exist'
  | 'offline'
  | 'refused'
  /** B's PunchHoleSent / LocalAddr reached A. */
  | 'answer-forwarded'
  /** B answered, but A's connection was gone (or the answer named another peer). */
  | 'answer-unclaimed';

/** What became of a RequestRelay (§5.7) or of B's RelayResponse. */
export type RelayOutcome =
  | 'request-sent-to-peer'
  | 'refused-offline'
  | 'refused-access'
  | 'response-forwarded'
  | 'response-unclaimed'
  /** B's answer came from another network than B registered from: not A's peer answering. */
  | 'response-wrong-network'
  | 'ticket-issued'
  /** Over RELAY_TICKETS_PER_IP_PER_MINUTE or RELAY_TICKETS_PER_ID_PER_MINUTE: A is refused. */
  | 'ticket-rate-limited';

/** Why a request was turned down (access refusals use the port's Refusal names). */
export type RefusalReason =
  | 'banned'
  | 'revoked'
  | 'deleted'
  | 'pending'
  | 'not-deployed'
  | 'unknown-device'
  | 'too-frequent'
  | 'uuid-mismatch'
  /** An admitted device's new key under token, approval or locked. */
  | 'key-changed'
  /** The stored uuid and key of an id could not be read (Postgres down or too many reads waiting). */
  | 'identity-unavailable'
  /** The peer map is at its cap and holds no offline peer to make room. */
  | 'peer-map-full'
  /** A new device over UDP beyond the global rate of new devices (spoofable sources). */
  | 'new-device-rate'
  | 'invalid-id'
  | 'oversized-key'
  | 'id-exists'
  | 'online-query-limited'
  /** A TCP/WS connection over its IP's connection cap or rate. */
  | 'connection-limit'
  /** A TCP/WS connection over the process-wide cap (maxConnections). */
  | 'connection-cap'
  /** A connection whose IP sent more frames than its budget. */
  | 'frame-rate';

export type FrameErrorKind = 'too-large' | 'malformed' | 'no-known-variant';

/** Gauges read on scrape, so nothing on the request paths keeps them up to date. */
export interface MetricSources {
  readonly peersRegistered: () => number;
  readonly peersOnline: () => number;
  readonly links: () => number;
  readonly punchEntries: () => number;
}

/**
 * The core's Prometheus series (docs/architecture.md "Ops endpoints"). The UDP hot path only bumps two plain
 * numbers; they reach their counters when Prometheus scrapes, so a heartbeat costs no label lookup.
 */
export class SignalMetrics {
  readonly connectionsAccepted: Counter<'listener'>;
  readonly connectionsOpen: Gauge<'listener'>;
  readonly connectionsClosed: Counter<'listener' | 'reason'>;
  /** Hot-path counts: plain increments, added to their counters when Prometheus scrapes. */
  readonly sinceScrape = { datagrams: 0, udpRegisterPeers: 0 };
  private readonly messages: Counter<'transport' | 'type'>;
  private readonly registrations: Counter<'transport' | 'kind'>;
  private readonly punches: Counter<'outcome'>;
  private readonly relays: Counter<'outcome'>;
  private readonly refusals: Counter<'reason'>;
  private readonly frameErrors: Counter<'transport' | 'kind'>;
  private readonly secureFailures: Counter<'kind'>;
  private readonly apiProxyRequests: Counter<'outcome'>;
  private readonly callerTokens: Counter<'outcome'>;

  constructor(registry: Registry, sources: MetricSources) {
    const registers = [registry];
    this.connectionsAccepted = new Counter({
      name: 'switchboard_signal_connections_accepted_total',
      help: 'TCP and WebSocket connections accepted, by listener',
      labelNames: ['listener'] as const,
      registers,
    });
    this.connectionsOpen = new Gauge({
      name: 'switchboard_signal_connections_open',
      help: 'TCP and WebSocket connections currently open, by listener',
      labelNames: ['listener'] as const,
      registers,
    });
    this.connectionsClosed = new Counter({
      name: 'switchboard_signal_connections_closed_total',
      help: 'Connections closed, by listener and reason',
      labelNames: ['listener', 'reason'] as const,
      registers,
    });
    const sinceScrape = this.sinceScrape;
    new Counter({
      name: 'switchboard_signal_datagrams_received_total',
      help: 'UDP datagrams received on the rendezvous port',
      registers,
      collect() {
        this.inc(sinceScrape.datagrams);
        sinceScrape.datagrams = 0;
      },
    });
    // Both counters take the UDP heartbeats counted since the last scrape; whichever is collected
    // first moves them into both, so the order the registry collects them in does not matter.
    const flushHeartbeats = () => {
      this.messages.labels('udp', 'registerPeer').inc(sinceScrape.udpRegisterPeers);
      this.registrations.labels('udp', 'peer').inc(sinceScrape.udpRegisterPeers);
      sinceScrape.udpRegisterPeers = 0;
    };
    this.messages = new Counter({
      name: 'switchboard_signal_messages_total',
      help: 'Rendezvous messages received, by transport and message type',
      labelNames: ['transport', 'type'] as const,
      registers,
      collect: flushHeartbeats,
    });
    this.registrations = new Counter({
      name: 'switchboard_signal_registrations_total',
      help: 'Registrations received, by transport and kind: peer (RegisterPeer, the heartbeat) or key (RegisterPk)',
      labelNames: ['transport', 'kind'] as const,
      registers,
      collect: flushHeartbeats,
    });
    this.punches = new Counter({
      name: 'switchboard_signal_punch_hole_total',
      help: 'Punch-hole requests and answers, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.relays = new Counter({
      name: 'switchboard_signal_relay_total',
      help: 'Relay requests, responses and tickets, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.refusals = new Counter({
      name: 'switchboard_signal_refusals_total',
      help: 'Requests refused, by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    this.frameErrors = new Counter({
      name: 'switchboard_signal_frame_errors_total',
      help: 'Frames or datagrams that could not be used, by transport and kind',
      labelNames: ['transport', 'kind'] as const,
      registers,
    });
    this.secureFailures = new Counter({
      name: 'switchboard_signal_secure_channel_failures_total',
      help: 'Secure-TCP failures (bad KeyExchange, frame that does not decrypt), by kind',
      labelNames: ['kind'] as const,
      registers,
    });
    this.apiProxyRequests = new Counter({
      name: 'switchboard_signal_api_proxy_requests_total',
      help: 'Client API requests tunnelled through signal (HttpProxyRequest), by outcome',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.callerTokens = new Counter({
      name: 'switchboard_signal_caller_tokens_total',
      help: 'Access tokens in punch and relay requests, by outcome (a reference issued, or why not)',
      labelNames: ['outcome'] as const,
      registers,
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('switchboard_signal_peers_registered', 'Peers in the in-memory peer map', sources.peersRegistered);
    gauge(
      'switchboard_signal_peers_online',
      'Peers registered within the online window or on a live link',
      sources.peersOnline,
    );
    gauge(
      'switchboard_signal_registration_links',
      'Live TCP/WebSocket registration links (keep-alive)',
      sources.links,
    );
    gauge(
      'switchboard_signal_punch_map_entries',
      'Requesters waiting for their peer to answer',
      sources.punchEntries,
    );
  }

  message(transport: Transport, type: RendezvousCase): void {
    if (transport === 'udp' && type === 'registerPeer') {
      this.sinceScrape.udpRegisterPeers++;
      return;
    }
    this.messages.labels(transport, type).inc();
    if (type === 'registerPeer') this.registrations.labels(transport, 'peer').inc();
    else if (type === 'registerPk') this.registrations.labels(transport, 'key').inc();
  }

  punch(outcome: PunchOutcome): void {
    this.punches.labels(outcome).inc();
  }

  relay(outcome: RelayOutcome): void {
    this.relays.labels(outcome).inc();
  }

  refusal(reason: RefusalReason): void {
    this.refusals.labels(reason).inc();
  }

  frameError(transport: Transport, kind: FrameErrorKind): void {
    this.frameErrors.labels(transport, kind).inc();
  }

  secureChannelFailure(kind: string): void {
    this.secureFailures.labels(kind).inc();
  }

  apiProxy(outcome: ProxyOutcome): void {
    this.apiProxyRequests.labels(outcome).inc();
  }

  callerToken(outcome: CallerTokenOutcome): void {
    this.callerTokens.labels(outcome).inc();
  }

  connectionClosed(listener: Listener, reason: CloseReason): void {
    this.connectionsOpen.labels(listener).dec();
    this.connectionsClosed.labels(listener, reason).inc();
    if (reason === 'frame-too-large') this.frameError(listener, 'too-large');
    if (reason === 'decrypt-failed') this.secureChannelFailure('decrypt-failed');
  }
}
