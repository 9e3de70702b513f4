import { decodeAddrMangle } from '@switchboard/protocol';

import { punchKey, type PunchWaiter, type RendezvousContext } from '../rendezvous-context';

/**
 * Takes A's waiting connection out of the punch map, found by the socket_addr B echoes back. When B
 * names itself (`answeringId`), it must be the peer A asked for: anyone can send these messages, and
 * the answer carries a signed key A will trust for that id.
 */
export function claimWaiter(
  context: RendezvousContext,
  socketAddr: Uint8Array,
  answeringId: string | undefined,
): PunchWaiter | undefined {
  const requester = decodeAddrMangle(socketAddr);
  if (requester === undefined) return undefined;
  const key = punchKey(requester.address, requester.port);
  if (key === undefined) return undefined;
  const now = context.clock.now();
  const waiter = context.punches.peek(key, now);
  if (waiter === undefined || waiter.connection.closed) return undefined;
  if (answeringId !== undefined && answeringId !== waiter.targetId) {
    context.logger.warn(
      { requester: key, expected: waiter.targetId, answeringId },
      'answer names another peer than the one requested; not forwarded',
    );
    return undefined;
  }
  context.punches.take(key, now);
  return waiter;
}
