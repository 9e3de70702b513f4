import { type RelayResponse } from '@switchboard/protocol';

import { type RendezvousContext, signedPeerKey } from '../rendezvous-context';
import { claimWaiter } from './claim-waiter';

// B's RelayResponse (RUSTDESK.md §5.6 step 5a and §5.7; rustdesk-server src/rendezvous_server.rs
// handle_tcp): forwarded to A with socket_addr cleared and B's id replaced by its server-signed key.
// When B picked the uuid (the punch path), this is where the relay session is brokered, so the
// relay gets its ticket here.

export function handleRelayResponse(context: RendezvousContext, message: RelayResponse): void {
  const answeringId = message.union?.$case === 'id' ? message.union.value : '';
  const waiter = claimWaiter(context, message.socketAddr, answeringId === '' ? undefined : answeringId);
  if (waiter === undefined) {
    context.metrics.relay('response-unclaimed');
    return;
  }
  if (message.uuid !== '') {
    context.tickets.issue({ uuid: message.uuid, peers: [waiter.targetId], relay: message.relayServer });
    context.metrics.relay('ticket-issued');
  }
  waiter.connection.sendMessage({
    $case: 'relayResponse',
    value: {
      ...message,
      socketAddr: Buffer.alloc(0),
      // Only the server may vouch for a key: whatever B put in `pk` is dropped.
      union:
        answeringId === ''
          ? undefined
          : { $case: 'pk', value: signedPeerKey(context, answeringId, message.version) },
    },
  });
  context.metrics.relay('response-forwarded');
}
