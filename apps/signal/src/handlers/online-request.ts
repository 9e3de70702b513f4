import { type OnlineRequest } from '@switchboard/protocol';

import { type SignalConnection } from '../connection';
import { type RendezvousContext } from '../rendezvous-context';

// OnlineRequest on 21115 (and on WS, where upstream never answers; docs/protocol.md §5.8; rustdesk-server
// handle_online_request). The client indexes the bitmap without a bounds check, so it always gets
// the full length; only the first `onlineQueryMaxPeers` ids are looked up, the rest read offline.
// Each IP has a budget of ids per window so the service cannot be used to enumerate who is online.

/** False when the IP has spent its budget: the caller closes without an answer (the client then shows all offline). */
export function handleOnlineRequest(
  context: RendezvousContext,
  connection: SignalConnection,
  request: OnlineRequest,
): boolean {
  const ids = request.peers;
  const looked = Math.min(ids.length, context.limits.onlineQueryMaxPeers);
  const now = context.clock.now();
  if (!context.onlineQueryLimiter.allow(connection.rateKey, Math.max(looked, 1), now)) {
    context.metrics.refusal('online-query-limited');
    return false;
  }
  const states = Buffer.alloc(Math.ceil(ids.length / 8));
  for (let i = 0; i < looked; i++) {
    const id = ids[i] as string;
    const peer = context.peers.get(id);
    // Pending or banned peers cannot be reached, so they do not show as online either.
    if (
      peer === undefined ||
      !context.peers.isOnline(peer, now) ||
      !context.access.checkReachable(id).allowed
    ) {
      continue;
    }
    states[i >> 3] = (states[i >> 3] as number) | (0x80 >> (i & 7));
  }
  connection.sendMessage({ $case: 'onlineResponse', value: { states } });
  return true;
}
