import { type PunchHoleSent, PunchHoleResponse } from '@switchboard/protocol';

import { type SignalConnection } from '../connection';
import { mangle, type RendezvousContext, signedPeerKey } from '../rendezvous-context';
import { claimWaiter } from './claim-waiter';

// B punched towards A and says so on a fresh TCP connection (docs/protocol.md §5.6 step 6; rustdesk-server
// src/rendezvous_server.rs handle_hole_sent): A learns B's public address, as this connection shows
// it, and B's server-signed key.

export function handlePunchHoleSent(
  context: RendezvousContext,
  connection: SignalConnection,
  message: PunchHoleSent,
): void {
  const waiter = claimWaiter(context, message.socketAddr, message.id);
  if (waiter === undefined) {
    context.metrics.punch('answer-unclaimed');
    return;
  }
  waiter.connection.sendMessage({
    $case: 'punchHoleResponse',
    value: PunchHoleResponse.create({
      socketAddr: mangle(context, connection.remote.address, connection.remote.port),
      pk: signedPeerKey(context, message.id, message.version),
      relayServer: message.relayServer,
      // Set explicitly: the oneof must carry nat_type for the client to read it.
      union: { $case: 'natType', value: message.natType },
    }),
  });
  context.metrics.punch('answer-forwarded');
}
