import { type RegistrationRefusal } from '@switchboard/audit-queue';

import { type RefusalReason } from '../metrics';
import { type RendezvousContext } from '../rendezvous-context';

/** A refused RegisterPeer or RegisterPk: its metric and the dashboard's count (both in memory). */
export function countRegistrationRefused(context: RendezvousContext, reason: RefusalReason): void {
  context.metrics.refusal(reason);
  context.registrationRefusals.count(reason);
}

/**
 * Audits a refused RegisterPeer or RegisterPk. Coalesced per (id, reason) by the audit sink: a
 * refused client retries every few seconds.
 */
export function auditRegistrationRefused(
  context: RendezvousContext,
  deviceId: string,
  reason: RegistrationRefusal,
  ip: string,
): void {
  context.audit.record({ action: 'device.registration_refused', deviceId, reason, ip });
}
