import { decodeAddrMangle } from '@switchboard/protocol';
import { rateLimitKey } from '@switchboard/transport';

import { punchKey, type PunchWaiter, type RendezvousContext } from '../rendezvous-context';

/** Where an answer came from, when it must come from the peer A asked for. */
export interface AnswerSource {
  readonly address: string;
  readonly onWrongNetwork: () => void;
}

/**
 * Takes A's waiting connection out of the punch map, found by the socket_addr B echoes back. When B
 * names itself (`answeringId`), it must be the peer A asked for: anyone can send these messages, and
 * the answer carries a signed key A will trust for that id. With `source`, the answer must also come
 * from the network that peer registered from (the address A's socket_addr is no secret: A knows it);
 * otherwise A keeps waiting for the real answer.
 */
export function claimWaiter(
  context: RendezvousContext,
  socketAddr: Uint8Array,
  answeringId: string | undefined,
  source?: AnswerSource,
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
  if (source !== undefined && !answersFromPeerNetwork(context, waiter.targetId, source.address)) {
    source.onWrongNetwork();
    context.logger.warn(
      { requester: key, expected: waiter.targetId, from: source.address },
      'answer comes from another network than the requested peer registered from; not forwarded',
    );
    return undefined;
  }
  context.punches.take(key, now);
  return waiter;
}

function answersFromPeerNetwork(context: RendezvousContext, targetId: string, address: string): boolean {
  if (!context.limits.relayAnswerFromPeerNetwork) return true;
  const peer = context.peers.get(targetId);
  if (peer === undefined) return false;
  const registered = peer.link !== undefined && !peer.link.closed ? peer.link.remote.address : peer.address;
  const prefix = context.limits.ipv6PrefixLength;
  return rateLimitKey(registered, prefix) === rateLimitKey(address, prefix);
}
