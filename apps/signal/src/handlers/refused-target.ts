import { type Refusal } from '../ports';
import { type RendezvousContext } from '../rendezvous-context';

/**
 * How a target the access policy refuses reads to the requester (PunchHoleRequest, RequestRelay):
 * as an id that does not exist, or as an offline device. Banned, deleted and pending devices read
 * offline (docs/protocol.md §7). Token and approval also refuse an id nothing is known about (as
 * not-deployed / pending), but to the requester that id simply does not exist, as hbbs says of an id
 * in neither its memory nor its database (§5.6), whatever the policy.
 */
export function refusedTargetIsUnknown(context: RendezvousContext, id: string, refusal: Refusal): boolean {
  if (refusal === 'unknown-device') return true;
  if (refusal !== 'not-deployed' && refusal !== 'pending') return false;
  return context.peers.get(id) === undefined && !context.access.isKnownDevice(id);
}
