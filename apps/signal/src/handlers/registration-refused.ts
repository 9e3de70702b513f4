import { type RegistrationRefusal } from '@switchboard/audit-queue';

import { type RendezvousContext } from '../rendezvous-context';

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
