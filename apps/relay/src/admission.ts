import { isDeviceId, isRelayUuid } from '@switchboard/domain';
import { type Logger } from '@switchboard/observability';
import { relayAddressKey } from '@switchboard/relay-registry';
import { OpenConnections, rateLimitKey } from '@switchboard/transport';

import { completesTicket, type TicketSides, type WaitingPeer, type WaitingRoom } from './pairing';
import { type DeviceAccess, type IpAccess, type RelayTicketView, type TicketSource } from './ports';
import { type RelayConnection } from './relay-connection';
import { type RelayMetrics, type Refusal } from './relay-metrics';
import { type RelayRequest } from './relay-request';

// Who may use the relay: the accept-time gate (IP lists and connection caps), then each RequestRelay
// (deny set, ticket). It decides only; relay-core.ts carries the verdicts out: it closes, pairs or
// parks the connection.

/** How a strict relay checks a signed ticket (docs/architecture.md "Relay tickets and strict mode"). */
export interface TicketPolicy {
  /** RELAY_PUBLIC_ADDR and RELAY_ALIASES: a ticket naming any other relay is refused here. */
  readonly addresses: readonly string[];
  /** RELAY_TICKET_IP_CHECK: each end must come from the network signal saw it on. */
  readonly checkIp: boolean;
  /** RATE_LIMIT_IPV6_PREFIX: an IPv6 end matches anywhere in its prefix (privacy addresses). */
  readonly ipv6PrefixLength: number;
}

export interface AdmissionLimits {
  /** Open connections per client IP; an IPv6 client counts by its network (rateLimitKey). */
  readonly maxConnectionsPerIp: number;
  readonly ipv6PrefixLength: number;
  /** Open connections of all clients together, so no crowd of addresses can exhaust the process. */
  readonly maxConnections: number;
  /** Strict mode: how long a uuid without a ticket is looked up again before it is refused. */
  readonly ticketWaitMs: number;
}

export interface RelayAdmissionOptions {
  readonly limits: AdmissionLimits;
  /** Admit only uuids signal issued a ticket for. Off: any uuid, as hbbr. */
  readonly strict: boolean;
  readonly tickets: TicketSource | undefined;
  readonly devices: DeviceAccess;
  readonly ips: IpAccess;
  readonly ticketPolicy: TicketPolicy | undefined;
  /** The ends admitted already, waiting for their partner. */
  readonly waiting: Pick<WaitingRoom, 'has' | 'peek'>;
  readonly metrics: RelayMetrics;
  readonly logger: Logger;
  /** Monotonic milliseconds. */
  readonly clock: () => number;
}

export type TicketLookup = RelayTicketView | 'none' | 'unavailable';

/** What to do with a RequestRelay. */
export type AdmissionVerdict =
  | {
      readonly kind: 'refuse';
      readonly refusal: Refusal;
      readonly context: { readonly uuid: string; readonly devices?: readonly string[] };
    }
  /** Its partner is waiting and it may join it. */
  | { readonly kind: 'pair'; readonly partner: WaitingPeer }
  /** Admitted, to wait for its partner. */
  | {
      readonly kind: 'wait';
      readonly devices: Set<string>;
      readonly admission: WaitingPeer['admission'];
    }
  /** Nothing decides yet: its ticket has to be looked up. */
  | { readonly kind: 'look-up-ticket' };

const ANY_SIDE: TicketSides = { requester: true, answerer: true };
const LOOK_UP_TICKET: AdmissionVerdict = { kind: 'look-up-ticket' };

export class RelayAdmission {
  private readonly open = new OpenConnections();
  private readonly ownAddresses: ReadonlySet<string>;
  /** Ticket reads in flight by uuid: both ends of a pair often arrive during the same lookup. */
  private readonly ticketLookups = new Map<string, ReturnType<TicketSource['get']>>();
  private ticketFailureLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: RelayAdmissionOptions) {
    if (options.strict && !options.tickets) throw new Error('strict mode needs a ticket source');
    this.ownAddresses = new Set((options.ticketPolicy?.addresses ?? []).map(relayAddressKey));
  }

  /**
   * The accept-time gate, before any byte is read (hbbr drops blocklisted IPs at accept): draining,
   * the blocklist, the global cap and the per-IP cap. Returns the release to call when that socket
   * closes, or undefined when the socket must be dropped.
   */
  admitSocket(address: string, draining: boolean): (() => void) | undefined {
    const { limits, ips, metrics } = this.options;
    const key = rateLimitKey(address, limits.ipv6PrefixLength);
    const refusal = draining
      ? 'draining'
      : ips.isBlocked(address)
        ? 'blocklist'
        : this.open.total >= limits.maxConnections
          ? 'connection-cap'
          : this.open.countFor(key) >= limits.maxConnectionsPerIp
            ? 'per-ip-limit'
            : undefined;
    if (refusal !== undefined) {
      metrics.refusals.inc({ reason: refusal });
      this.options.logger.debug({ address, refusal }, 'connection dropped at accept');
      return undefined;
    }
    return this.open.take(key).release;
  }

  /** The devices a RequestRelay names itself: the controller's target, when it is a well-formed id. */
  namedDevices(request: RelayRequest): string[] {
    return isDeviceId(request.peerId) ? [request.peerId] : [];
  }

  /** Before any lookup: a denied device, or a partner waiting that this end may or may not join. */
  screen(request: RelayRequest, connection: RelayConnection, named: readonly string[]): AdmissionVerdict {
    if (named.some((id) => this.options.devices.isDenied(id))) {
      return { kind: 'refuse', refusal: 'denied-device', context: { uuid: request.uuid, devices: named } };
    }
    // The partner was admitted already: checked against its ticket, without another lookup.
    return this.joinPartner(request.uuid, connection) ?? LOOK_UP_TICKET;
  }

  /** Once the ticket is known: the strict mode's checks, then the deny set over every device it names. */
  judge(
    request: RelayRequest,
    connection: RelayConnection,
    named: readonly string[],
    ticket: TicketLookup,
  ): AdmissionVerdict {
    const { uuid } = request;
    const strict = this.options.strict;
    // Both ends may have been looking their ticket up at the same time; the first admitted vouches.
    const partner = this.joinPartner(uuid, connection);
    if (partner !== undefined) return partner;
    if (strict && ticket === 'unavailable') return refuse('ticket-unavailable', { uuid });
    if (strict && ticket === 'none') return refuse('no-ticket', { uuid });
    let admission: WaitingPeer['admission'];
    if (strict && typeof ticket === 'object') {
      const sides = this.sidesOf(ticket, connection);
      const refusal = !this.isOwnAddress(ticket.relay)
        ? 'wrong-relay'
        : !sides.requester && !sides.answerer
          ? 'wrong-address'
          : undefined;
      if (refusal !== undefined) return refuse(refusal, { uuid, devices: ticket.peers });
      admission = { ticket, sides };
    }
    const peers = typeof ticket === 'object' ? ticket.peers : [];
    const devices = new Set([...peers, ...named]);
    if ([...devices].some((id) => this.options.devices.isDenied(id))) {
      return refuse('denied-device', { uuid, devices: [...devices] });
    }
    return { kind: 'wait', devices, admission };
  }

  /**
   * The ticket of `uuid`. Strict mode: clients send RelayResponse to signal and dial the relay at
   * once (rustdesk src/server.rs), so the first end can arrive before signal's ticket write has
   * reached Redis; a missing ticket is looked up again for up to ticketWaitMs.
   */
  async ticketFor(uuid: string, connection: RelayConnection): Promise<TicketLookup> {
    const { tickets, strict, limits, clock, waiting } = this.options;
    // A uuid that could not have been issued has no ticket; it is not looked up.
    if (!tickets || !isRelayUuid(uuid)) return 'none';
    const deadline = clock() + (strict ? limits.ticketWaitMs : 0);
    for (let pauseMs = 50; ; pauseMs *= 2) {
      try {
        const ticket = await this.lookUpTicket(tickets, uuid);
        if (ticket) return ticket;
      } catch (error) {
        this.logTicketFailure(error, uuid);
        return 'unavailable';
      }
      if (connection.closed || waiting.has(uuid) || clock() + pauseMs > deadline) return 'none';
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  /**
   * Deletes a paired session's ticket so its uuid admits no second pair, and returns the devices it
   * names (undefined when there is nothing to add). A pair admitted on a verified ticket only
   * deletes it (a second signature check per pair is CPU for nothing); otherwise (compatibility mode)
   * the ticket, if signal issued one, tells which devices the session carries, for ban cuts.
   */
  async consumeTicket(uuid: string, admittedOnTicket: boolean): Promise<readonly string[] | undefined> {
    const tickets = this.options.tickets;
    if (tickets === undefined || !isRelayUuid(uuid)) return undefined;
    try {
      if (admittedOnTicket) {
        await tickets.spend(uuid);
        return undefined;
      }
      return (await tickets.take(uuid))?.peers ?? [];
    } catch (error) {
      this.logTicketFailure(error, uuid);
      return undefined;
    }
  }

  /**
   * A verdict for an end whose partner waits on `uuid`, if one does. Under a ticket the arriving end
   * must come from the other side of it than the waiting one (A's network if B waits, and the other
   * way round), or two connections of one party could pair.
   */
  private joinPartner(uuid: string, connection: RelayConnection): AdmissionVerdict | undefined {
    const partner = this.options.waiting.peek(uuid);
    if (partner === undefined) return undefined;
    const admission = partner.admission;
    if (admission && !completesTicket(admission.sides, this.sidesOf(admission.ticket, connection))) {
      return refuse('wrong-address', { uuid, devices: admission.ticket.peers });
    }
    return { kind: 'pair', partner };
  }

  private sidesOf(ticket: RelayTicketView, connection: RelayConnection): TicketSides {
    const policy = this.options.ticketPolicy;
    if (policy === undefined || !policy.checkIp) return ANY_SIDE;
    const network = (address: string) => rateLimitKey(address, policy.ipv6PrefixLength);
    const from = network(connection.remote.address);
    return { requester: from === network(ticket.requesterIp), answerer: from === network(ticket.answererIp) };
  }

  private isOwnAddress(relay: string): boolean {
    // Without a policy (tests of the pairing itself) any node is this one.
    return this.options.ticketPolicy === undefined || this.ownAddresses.has(relayAddressKey(relay));
  }

  /** One Redis read per uuid at a time, shared by every connection waiting on it. */
  private lookUpTicket(tickets: TicketSource, uuid: string): ReturnType<TicketSource['get']> {
    const pending = this.ticketLookups.get(uuid);
    if (pending) return pending;
    const lookup = tickets.get(uuid).finally(() => this.ticketLookups.delete(uuid));
    this.ticketLookups.set(uuid, lookup);
    return lookup;
  }

  private logTicketFailure(error: unknown, uuid: string): void {
    const now = this.options.clock();
    // One line per 10 s: with Redis down every connection would fail the same way.
    if (now - this.ticketFailureLoggedAt < 10_000) return;
    this.ticketFailureLoggedAt = now;
    this.options.logger.warn({ err: error, uuid, strict: this.options.strict }, 'relay ticket lookup failed');
  }
}

function refuse(refusal: Refusal, context: { uuid: string; devices?: readonly string[] }): AdmissionVerdict {
  return { kind: 'refuse', refusal, context };
}
