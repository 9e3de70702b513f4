// What the relay core asks of the outside world; main.ts wires Redis-backed implementations, tests
// may pass their own.

/** Signal's relay tickets (libs/relay-registry RelayTicketStore). */
export interface TicketSource {
  get(uuid: string): Promise<{ readonly peers: readonly string[] } | undefined>;
  /** Reads and deletes, so a uuid admits one pair. */
  take(uuid: string): Promise<{ readonly peers: readonly string[] } | undefined>;
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
