import { DEFAULT_IPV6_PREFIX_LENGTH } from '@switchboard/transport';

import { type ConnectionLimits } from './connection';

/** Every limit and timeout of the rendezvous core, each a named option with a default (STYLE.md). */
export interface SignalLimits extends ConnectionLimits {
  /** A peer is online this long after its last registration (hbbs REG_TIMEOUT). */
  readonly onlineWindowMs: number;
  /** tcp_punch map: requesters waiting for B (docs/protocol.md §5.5, hardened as BetterDesk does). */
  readonly punchMapCap: number;
  readonly punchMapTtlMs: number;
  /** How often expired punch entries are dropped and registration links pinged. */
  readonly sweepIntervalMs: number;
  /** keep_alive sent to TCP/WS-registered peers; they drop the link after 1.5× this of silence. */
  readonly keepAliveSeconds: number;
  /** An empty frame goes down each registration link at least this often. */
  readonly linkPingIntervalMs: number;
  /** A registration link silent this long is closed: 1.5 × keep_alive, the client's own patience. */
  readonly linkIdleTimeoutMs: number;
  /** hbbs IP_BLOCKER: RegisterPk per IP, and distinct ids per IP (docs/protocol.md §5.3). */
  readonly registerPkPerIp: number;
  readonly registerPkIdleResetMs: number;
  readonly registerPkIdsPerIp: number;
  readonly registerPkIdsResetMs: number;
  /** hbbs reg_pk: RegisterPk per id per window. */
  readonly registerPkPerId: number;
  readonly registerPkPerIdWindowMs: number;
  /** RegisterPk fields bigger than this are ignored (upstream stores them unchecked). */
  readonly maxUuidBytes: number;
  readonly maxPkBytes: number;
  /** OnlineRequest: ids answered per request, and ids per IP per window (no enumeration of who is online). */
  readonly onlineQueryMaxPeers: number;
  readonly onlineQueryIdsPerIp: number;
  readonly onlineQueryWindowMs: number;
  /** TCP RegisterPk id changes per IP per window (docs/protocol.md §5.9). */
  readonly idChangesPerIp: number;
  readonly idChangeWindowMs: number;
  /**
   * Per client IP: open TCP/WS connections at once, new connections per window, and frames per window
   * across its connections. Beyond them a connection is dropped before any work (no key exchange).
   * Generous, since a whole office can sit behind one address.
   */
  readonly maxConnectionsPerIp: number;
  readonly newConnectionsPerIp: number;
  /** TCP/WS connections of all clients together, so no crowd of addresses can exhaust the process. */
  readonly maxConnections: number;
  /** Every per-IP limit counts an IPv6 client by its network of this prefix (libs/transport rateLimitKey). */
  readonly ipv6PrefixLength: number;
  readonly framesPerIp: number;
  readonly perIpWindowMs: number;
  /** Most addresses each rate-limit table remembers. */
  readonly maxTrackedIps: number;
  /** Heartbeats reach DeviceWriterPort.recordSeen at most this often per peer. */
  readonly seenRecordIntervalMs: number;
  /** Peer records held at most; at the cap offline ones make room (peer-map.ts). */
  readonly maxPeers: number;
  /**
   * Devices never seen before that may register over UDP per window, all sources together: a UDP
   * source can be forged, so per-IP limits cannot stop a flood of new ids (each a peer record and a
   * row, under `approval` one in the admins' queue). TCP/WS registrations are not counted.
   */
  readonly udpNewDevices: number;
  readonly udpNewDevicesWindowMs: number;
  /**
   * Relay tickets issued per requester network (RATE_LIMIT_IPV6_PREFIX) and per target id per
   * window: a client retries a relay three times (rustdesk src/client.rs request_relay).
   */
  readonly relayTicketsPerIp: number;
  readonly relayTicketsPerPeer: number;
  readonly relayTicketWindowMs: number;
  /**
   * B's RelayResponse must come from the network B registered from, or anyone who knows A's
   * address could answer for B and be issued the ticket's second end.
   */
  readonly relayAnswerFromPeerNetwork: boolean;
  /** Tunnelled API requests (HttpProxyRequest) one connection may have in flight; more are answered 503. */
  readonly apiProxyPerConnection: number;
}

export const DEFAULT_SIGNAL_LIMITS: SignalLimits = {
  // docs/architecture.md "Input"; upstream sets no limit at all (docs/protocol.md §1).
  maxFrameBytes: 64 * 1024,
  // hbbs reads each frame with a 30 s timeout (docs/protocol.md §5.5).
  messageTimeoutMs: 30_000,
  onlineWindowMs: 30_000,
  // BetterDesk's hardening of the tcp_punch map: 10,000 entries, 2 minutes.
  punchMapCap: 10_000,
  punchMapTtlMs: 120_000,
  sweepIntervalMs: 5_000,
  // The client's own default (rustdesk src/common.rs DEFAULT_KEEP_ALIVE); a ping every 20 s stays well
  // inside its 90 s patience and under proxies' usual 60 s idle timeout.
  keepAliveSeconds: 60,
  linkPingIntervalMs: 20_000,
  linkIdleTimeoutMs: 90_000,
  registerPkPerIp: 30,
  registerPkIdleResetMs: 60_000,
  registerPkIdsPerIp: 300,
  registerPkIdsResetMs: 24 * 3600_000,
  registerPkPerId: 3,
  registerPkPerIdWindowMs: 6_000,
  maxUuidBytes: 128,
  maxPkBytes: 64,
  onlineQueryMaxPeers: 1_000,
  onlineQueryIdsPerIp: 10_000,
  onlineQueryWindowMs: 60_000,
  idChangesPerIp: 5,
  idChangeWindowMs: 60_000,
  maxConnectionsPerIp: 128,
  newConnectionsPerIp: 64,
  // Far below a container's usual file limit; at a few KiB per idle connection, tens of MiB.
  maxConnections: 20_000,
  ipv6PrefixLength: DEFAULT_IPV6_PREFIX_LENGTH,
  framesPerIp: 1_000,
  perIpWindowMs: 10_000,
  maxTrackedIps: 100_000,
  seenRecordIntervalMs: 60_000,
  // Room for the 1M-peer target and half as much again (about 250 bytes a record).
  maxPeers: 1_500_000,
  // 10 a second: a whole new office in minutes; clients told TOO_FREQUENT simply retry.
  udpNewDevices: 600,
  udpNewDevicesWindowMs: 60_000,
  relayTicketsPerIp: 60,
  relayTicketsPerPeer: 30,
  relayTicketWindowMs: 60_000,
  relayAnswerFromPeerNetwork: true,
  // The client sends one request per connection (rustdesk src/common.rs tcp_proxy_request).
  apiProxyPerConnection: 4,
};
