import { type Denial, type RegistrationRefusal, type RelaySessionRefusal } from './audit-job';

/** What the data plane reports; the producer turns each into an audit entry (and coalesces floods). */
export type DataPlaneAuditFact =
  /** signal refused a registration (RegisterPeer or RegisterPk) under the access policy. */
  | {
      readonly action: 'device.registration_refused';
      readonly deviceId: string;
      readonly reason: RegistrationRefusal;
      readonly ip: string;
    }
  /** A ban, revoke or delete event made signal close the device's live TCP/WS registration link. */
  | {
      readonly action: 'device.link_closed';
      readonly deviceId: string;
      readonly reason: Denial;
      readonly ip: string;
    }
  /** A device renamed itself (TCP RegisterPk with old_id, docs/protocol.md §5.9), from `ip`. */
  | {
      readonly action: 'device.id_changed';
      readonly deviceId: string;
      readonly newId: string;
      readonly ip: string;
    }
  /** A relay cut a paired session because one of the devices it carries was denied. */
  | {
      readonly action: 'relay.session_closed_by_ban';
      readonly uuid: string;
      readonly devices: readonly string[];
    }
  /** A relay refused a session: no ticket from signal (strict mode), or a denied device. */
  | {
      readonly action: 'relay.session_refused';
      readonly uuid: string;
      readonly reason: RelaySessionRefusal;
      readonly ip: string;
      readonly devices: readonly string[];
    };

/**
 * The port the data-plane cores record security events through. `record` must return at once and
 * never throw: the cores call it on their hot paths, and the audit trail may lag but never stall them.
 */
export interface AuditSink {
  record(fact: DataPlaneAuditFact): void;
}

/** For cores run without an audit queue (unit tests, tools). */
export const NO_AUDIT: AuditSink = { record: () => undefined };

/** Keeps every fact in memory: for tests of the cores. */
export class RecordingAuditSink implements AuditSink {
  readonly facts: DataPlaneAuditFact[] = [];

  record(fact: DataPlaneAuditFact): void {
    this.facts.push(fact);
  }
}
