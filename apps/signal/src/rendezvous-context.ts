import { type ServerKey, signIdPk } from '@switchboard/crypto';
import { type Logger } from '@switchboard/observability';
import {
  encodeAddrMangle,
  encodeRendezvous,
  type HttpProxyRequest,
  normalizeSocketAddress,
  type RendezvousPayload,
} from '@switchboard/protocol';

import { type ProxyResult } from './api-proxy/api-forwarder';
import { type ConnAuditRefPort } from './caller/conn-audit-refs';
import { type Clock } from './clock';
import { type SignalConnection } from './connection';
import { type SignalLimits } from './limits';
import { type RefusalReason, type SignalMetrics } from './metrics';
import { type PeerMap, type PeerRecord } from './peer-map';
import {
  type AuditSink,
  type DeviceAccessPort,
  type DeviceWriterPort,
  type RelayPickerPort,
  type RelayTicketPort,
} from './ports';
import { type PunchMap } from './punch-map';
import { type RegisterPkIpLimiter, type WindowLimiter } from './rate-limit';

/** Counts a refused registration; must stay an in-memory increment (it runs per refused datagram). */
export interface RegistrationRefusalCounter {
  count(reason: RefusalReason): void;
}

export const NO_REFUSAL_COUNTER: RegistrationRefusalCounter = { count: () => undefined };

/** Sends one datagram from the rendezvous UDP socket. */
export interface DatagramSender {
  send(payload: Uint8Array, address: string, port: number): void;
}

/** Forwards one tunnelled request to the api (api-proxy/api-forwarder.ts); never rejects. */
export interface ApiProxyPort {
  forward(request: HttpProxyRequest, clientIp: string): Promise<ProxyResult>;
}

/**
 * The controlled side's context for a request from `connection` to `targetId` (PunchHole,
 * FetchLocalAddr, RequestRelay: rustdesk src/rendezvous_mediator.rs reads it from all three), or
 * undefined when the caller's token gave no reference.
 */
export function controlledContextFor(
  context: RendezvousContext,
  token: string,
  targetId: string,
): { connAuditRef: string } | undefined {
  const { ref, outcome } = context.auditRefs.issue(token, targetId, context.clock.now());
  context.metrics.callerToken(outcome);
  return ref === '' ? undefined : { connAuditRef: ref };
}

/** A requester (A) waiting in the punch map, and the id it asked for. */
export interface PunchWaiter {
  readonly connection: SignalConnection;
  readonly targetId: string;
  /** A's RequestRelay (§5.7): B's answer carries neither uuid nor relay, so they are kept here. */
  readonly relayRequest?: { readonly uuid: string; readonly relayServer: string };
}

/** Everything a message handler may touch: the core's state and its ports, nothing global. */
export interface RendezvousContext {
  readonly peers: PeerMap;
  readonly punches: PunchMap<PunchWaiter>;
  readonly access: DeviceAccessPort;
  readonly writer: DeviceWriterPort;
  readonly relays: RelayPickerPort;
  readonly tickets: RelayTicketPort;
  readonly audit: AuditSink;
  readonly serverKey: ServerKey;
  readonly limits: SignalLimits;
  readonly metrics: SignalMetrics;
  readonly clock: Clock;
  readonly udp: DatagramSender;
  readonly logger: Logger;
  readonly registerPkLimiter: RegisterPkIpLimiter;
  readonly onlineQueryLimiter: WindowLimiter;
  readonly idChangeLimiter: WindowLimiter;
  /** New devices over UDP, one budget for all sources (limits.udpNewDevices). */
  readonly udpNewDeviceLimiter: WindowLimiter;
  /** Relay tickets issued per requester network and per target id. */
  readonly relayTicketIpLimiter: WindowLimiter;
  readonly relayTicketPeerLimiter: WindowLimiter;
  /** Where tunnelled client API requests go (HttpProxyRequest); undefined answers them 503. */
  readonly apiProxy: ApiProxyPort | undefined;
  /** Turns a caller's access token into the controlled side's conn_audit_ref. */
  readonly auditRefs: ConnAuditRefPort;
  /** Counts refused registrations for the dashboard (libs/events refusal-counts.ts); in memory, flushed in batches. */
  readonly registrationRefusals: RegistrationRefusalCounter;
  /** Makes `connection` the registration link of `peer` (§5.11a). */
  bindLink(peer: PeerRecord, connection: SignalConnection): void;
}

/**
 * The punch-map key for an address: IPv4-normalised as hbbs's try_into_v4 does, so the address A
 * connected from and the one B echoes back (decoded from AddrMangle) compare equal.
 */
export function punchKey(address: string, port: number): string | undefined {
  try {
    const normalized = normalizeSocketAddress(address, port);
    return `${normalized.address}:${normalized.port}`;
  } catch {
    // A socket that reported no usable address: nothing can ever answer it.
    return undefined;
  }
}

export function mangle(context: RendezvousContext, address: string, port: number): Buffer {
  return encodeAddrMangle({ address, port }, context.clock.micros());
}

/**
 * The server-signed IdPk of `id` (hbbs get_pk): empty when the answering peer sent no version, when
 * there is no signing key, or when the id is unknown, exactly as upstream.
 */
export function signedPeerKey(context: RendezvousContext, id: string, version: string): Buffer {
  const signing = context.serverKey.signingKeyPair;
  const peer = context.peers.get(id);
  if (version === '' || signing === undefined || peer === undefined) return Buffer.alloc(0);
  return signIdPk(id, peer.pkBytes, signing);
}

/**
 * Answers a UDP request from `address`, unless the reply is larger than the request: a forged
 * source address must not make this server a reflection amplifier.
 */
export function replyDatagram(
  context: RendezvousContext,
  request: Buffer,
  reply: Uint8Array,
  address: string,
  port: number,
): void {
  if (reply.length > request.length) {
    context.logger.debug(
      { request: request.length, reply: reply.length },
      'UDP reply larger than request, not sent',
    );
    return;
  }
  context.udp.send(reply, address, port);
}

/** Pushes a message to B: down its registration link if it has one, else to its last UDP address. */
export function deliverToPeer(
  context: RendezvousContext,
  peer: PeerRecord,
  payload: RendezvousPayload,
): void {
  if (peer.link !== undefined && !peer.link.closed) {
    peer.link.sendMessage(payload);
    return;
  }
  if (peer.port === 0 || peer.address === '') {
    context.logger.debug({ id: peer.id }, 'peer has no address to send to');
    return;
  }
  context.udp.send(encodeRendezvous(payload), peer.address, peer.port);
}
