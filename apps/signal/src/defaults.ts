import { type Logger } from '@switchboard/observability';

import {
  type AccessDecision,
  type DeviceAccessPort,
  type DeviceRegistration,
  type DeviceWriterPort,
  type RelayPickerPort,
  type RelayTicket,
  type RelayTicketPort,
  type StoredIdentity,
  type StoredUuidMatch,
} from './ports';

// Small, honest stand-ins for the ports, for when the real implementations (admission/, the device
// write-behind, libs/relay-registry) are not wired: each does exactly what its name says.

const ALLOWED: AccessDecision = { allowed: true };

/** The `open` registration policy with no deny set: every device may register and be reached. */
export class OpenAccess implements DeviceAccessPort {
  checkRegistration(): AccessDecision {
    return ALLOWED;
  }

  checkReachable(): AccessDecision {
    return ALLOWED;
  }

  /** Without Postgres nothing is known beyond the live peer map. */
  isKnownDevice(): boolean {
    return false;
  }

  /** Without Postgres no uuid is stored: every id is a new device, as in memory only. */
  storedUuidMatch(): StoredUuidMatch {
    return 'none';
  }

  readStoredIdentity(): Promise<StoredIdentity | null> {
    return Promise.resolve(null);
  }

  allowsKeyChange(): boolean {
    return true;
  }

  /** Nothing is ever denied, so the listener is never called. */
  onDenied(): void {}
}

/** Keeps nothing: logs each write at debug level. */
export class LoggingDeviceWriter implements DeviceWriterPort {
  constructor(private readonly logger: Logger) {}

  recordRegistration(registration: DeviceRegistration): void {
    this.logger.debug({ id: registration.id, ip: registration.ip }, 'device registration (not persisted)');
  }

  recordSeen(id: string, ip: string): void {
    this.logger.debug({ id, ip }, 'device seen (not persisted)');
  }

  recordIdChange(oldId: string, newId: string): void {
    this.logger.debug({ oldId, newId }, 'device id change (not persisted)');
  }
}

/** hbbs's `-r` list: none → '' (clients use host:21117), one → it, several → round-robin. */
export class StaticRelayPicker implements RelayPickerPort {
  private next = 0;

  constructor(private readonly relays: readonly string[]) {}

  pick(): string {
    const relay = this.relays[this.next % this.relays.length] ?? '';
    this.next = (this.next + 1) % Math.max(this.relays.length, 1);
    return relay;
  }
}

/** No ticket store: logs each ticket at debug level (relays in strict mode will refuse these sessions). */
export class LoggingRelayTickets implements RelayTicketPort {
  constructor(private readonly logger: Logger) {}

  issue(ticket: RelayTicket): void {
    this.logger.debug(
      { uuid: ticket.uuid, peers: ticket.peers, relay: ticket.relay },
      'relay ticket (not stored)',
    );
  }
}
