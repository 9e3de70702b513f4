import { type LocalAddr, PunchHoleResponse } from '@switchboard/protocol';

import { type RendezvousContext, signedPeerKey } from '../rendezvous-context';
import { claimWaiter } from './claim-waiter';

// B's answer to FetchLocalAddr (docs/protocol.md §5.6 step 6; rustdesk-server src/rendezvous_server.rs
// handle_local_addr): A gets B's LAN address, flagged is_local, and B's server-signed key.

export function handleLocalAddr(context: RendezvousContext, message: LocalAddr): void {
  const waiter = claimWaiter(context, message.socketAddr, message.id);
  if (waiter === undefined) {
    context.metrics.punch('answer-unclaimed');
    return;
  }
  waiter.connection.sendMessage({
    $case: 'punchHoleResponse',
    value: PunchHoleResponse.create({
      socketAddr: message.localAddr,
      pk: signedPeerKey(context, message.id, message.version),
      relayServer: message.relayServer,
      union: { $case: 'isLocal', value: true },
    }),
  });
  context.metrics.punch('answer-forwarded');
}
