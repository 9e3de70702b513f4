// The seams between the rendezvous core and what it depends on. The core (handlers) only sees these
// interfaces; main.ts wires the real implementations (admission/, device write-behind, relay
// registry). Every method the hot path calls is synchronous and in-memory: Postgres or Redis being
// slow or down must never delay a registration (docs/architecture.md "Registration"). The one exception
// is readStoredIdentity, asked once per stored id that is not in memory (after a restart): an id's
// owner must be known before its key is signed.

/** Registration refusals and ban-closed links go to the audit chain (libs/audit-queue); never blocks. */
export type { AuditSink } from '@switchboard/audit-queue';

/**
 * The registration policy (docs/architecture.md "Registration");
 * ConfigChanged{key:'registration.policy'} switches it live.
 */
export type RegistrationPolicy = 'open' | 'token' | 'approval' | 'locked';

/** Why a device may not register or be reached. Never answered with UUID_MISMATCH (docs/protocol.md §7). */
export type Refusal =
  | 'banned'
  | 'revoked'
  | 'deleted'
  /** approval policy: known, waiting for an admin */
  | 'pending'
  /** token policy: no valid registration token was presented for this id/uuid */
  | 'not-deployed'
  /** locked policy: not a known device */
  | 'unknown-device';

export type AccessDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly refusal: Refusal };

export interface DeviceAccessPort {
  /** May this id (with this uuid, when the message carries one) register now? */
  checkRegistration(id: string, uuid?: Uint8Array): AccessDecision;
  /** May others punch to / relay to this id? (banned, deleted, pending… are unreachable) */
  checkReachable(id: string): AccessDecision;
  /**
   * Is anything known about this id in Postgres (a row, or a ban), whether or not it is in the live
   * peer map? A known id is OFFLINE rather than ID_NOT_EXIST (docs/protocol.md §5.6) and not free for an
   * id change (§5.9). No side effects.
   */
  isKnownDevice(id: string): boolean;
  /**
   * What is known, without waiting, of the uuid stored for this id: `none` (no stored uuid, a new
   * device), `different` (another machine's: a real conflict), or `maybe-same` (a short digest
   * matches, or nothing is loaded yet): then readStoredIdentity must say. The live peer map starts
   * empty after a restart; hbbs then reads the record from its database, and so must we, or anyone
   * could take over a known id (and have its own key signed for it) by registering it first.
   */
  storedUuidMatch(id: string, uuid: Uint8Array): StoredUuidMatch;
  /**
   * The uuid, key and last IP stored for this id (null: none stored). Off the hot path: only the
   * first RegisterPk of a known id after a restart asks. Rejects when it cannot be read now.
   */
  readStoredIdentity(id: string): Promise<StoredIdentity | null>;
  /**
   * May a device registered with one key present another? hbbs allows it from the same IP; under a
   * policy that admits devices one by one (token, approval, locked) the key is what was admitted.
   */
  allowsKeyChange(id: string): boolean;
  /** Called when ids become denied (ban, revoke, delete events): the core closes their live links. */
  onDenied(listener: (ids: readonly string[], refusal: Refusal) => void): void;
}

export type StoredUuidMatch = 'none' | 'different' | 'maybe-same';

/** A device's identity as stored in Postgres (pk and ip empty when it never registered a key). */
export interface StoredIdentity {
  readonly uuid: Uint8Array;
  readonly pk: Uint8Array | null;
  readonly ip: string | null;
}

export interface DeviceRegistration {
  readonly id: string;
  readonly uuid: Uint8Array;
  readonly pk: Uint8Array;
  readonly ip: string;
  readonly at: Date;
}

/** Write-behind of device rows: returns at once, batches to Postgres off the hot path, never loses. */
export interface DeviceWriterPort {
  /** RegisterPk accepted with a new or changed uuid, pk or IP. */
  recordRegistration(registration: DeviceRegistration): void;
  /** A device was seen (heartbeat); implementations coalesce these. */
  recordSeen(id: string, ip: string, at: Date): void;
  /** TCP RegisterPk id change accepted (docs/protocol.md §5.9). */
  recordIdChange(oldId: string, newId: string, at: Date): void;
}

/** Relay choice (docs/architecture.md "Relay choice"): least loaded live node, static list as fallback. */
export interface RelayPickerPort {
  /** host:port to hand to clients, or '' when none is known (clients then use rendezvous host:21117). */
  pick(): string;
}

export interface RelayTicket {
  readonly uuid: string;
  /** RustDesk ids of the devices this session carries, as far as signal knows them. */
  readonly peers: readonly string[];
  readonly relay: string;
  /** A's source address (its PunchHoleRequest or RequestRelay); the relay admits one end from here. */
  readonly requesterIp: string;
  /** B's source address (its RelayResponse); the relay admits the other end from here. */
  readonly answererIp: string;
}

/**
 * Short-lived relay tickets in Redis, signed by signal; issued only when B answers an outstanding
 * request of A. Fire-and-forget from the hot path (failures are logged).
 */
export interface RelayTicketPort {
  issue(ticket: RelayTicket): void;
}
