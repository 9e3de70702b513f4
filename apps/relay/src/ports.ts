// What the relay core asks of the outside world; main.ts wires Redis-backed implementations, tests
// may pass their own.

/** What a verified ticket says (libs/relay-registry StoredRelayTicket). */
export interface RelayTicketView {
  /** The device A asked for. */
  readonly peers: readonly string[];
  /** host[:port] both ends were told to dial. */
  readonly relay: string;
  /** A's and B's source addresses as signal saw them. */
  readonly requesterIp: string;
  readonly answererIp: string;
}

/** Signal's relay tickets (libs/relay-registry RelayTicketStore): only tickets signal signed. */
export interface TicketSource {
  get(uuid: string): Promise<RelayTicketView | undefined>;
  /** Reads and deletes, so a uuid admits one pair. */
  take(uuid: string): Promise<RelayTicketView | undefined>;
  /** Deletes without reading: the pair was admitted on this ticket, verified already. */
  spend(uuid: string): Promise<void>;
}

/** The deny set: banned, revoked and deleted devices. */
export interface DeviceAccess {
  isDenied(deviceId: string): boolean;
}

/** hbbr's blocklist (refuse) and blacklist (LIMIT_SPEED). */
export interface IpAccess {
  isBlocked(ip: string): boolean;
  isBlacklisted(ip: string): boolean;
}
