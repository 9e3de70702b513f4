import { RelayResponse } from '@switchboard/protocol';
import { rateLimitKey } from '@switchboard/transport';

import { type SignalConnection } from '../connection';
import { type PunchWaiter, type RendezvousContext, signedPeerKey } from '../rendezvous-context';
import { claimWaiter } from './claim-waiter';

// B's RelayResponse (docs/protocol.md §5.6 step 5a and §5.7; rustdesk-server src/rendezvous_server.rs
// handle_tcp; rustdesk src/rendezvous_mediator.rs create_relay): forwarded to A with socket_addr
// cleared and B's id replaced by its server-signed key. This is the one place a relay session is
// brokered, so the ticket is issued here, binding the uuid to A's and B's source addresses and to the
// relay both were told. On the punch path B picked uuid and relay (initiate = true); answering A's
// RequestRelay, B names neither and joins with A's.

/** Shown by the client as the reason the relay failed (rustdesk src/client.rs request_relay). */
const TOO_FREQUENT = 'Too many relay requests, please try again later';

export function handleRelayResponse(
  context: RendezvousContext,
  connection: SignalConnection,
  message: RelayResponse,
): void {
  const answeringId = message.union?.$case === 'id' ? message.union.value : '';
  const waiter = claimWaiter(context, message.socketAddr, answeringId === '' ? undefined : answeringId, {
    address: connection.remote.address,
    onWrongNetwork: () => context.metrics.relay('response-wrong-network'),
  });
  if (waiter === undefined) {
    context.metrics.relay('response-unclaimed');
    return;
  }
  const uuid = waiter.relayRequest?.uuid ?? message.uuid;
  if (uuid !== '') {
    if (!allowTicket(context, waiter)) {
      context.metrics.relay('ticket-rate-limited');
      waiter.connection.sendMessage({
        $case: 'relayResponse',
        value: RelayResponse.create({ refuseReason: TOO_FREQUENT }),
      });
      return;
    }
    context.tickets.issue({
      uuid,
      peers: [waiter.targetId],
      relay: waiter.relayRequest?.relayServer ?? message.relayServer,
      requesterIp: waiter.connection.remote.address,
      answererIp: connection.remote.address,
    });
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

/** Both budgets are checked before either is spent, so a refusal by one does not drain the other. */
function allowTicket(context: RendezvousContext, waiter: PunchWaiter): boolean {
  const now = context.clock.now();
  const network = rateLimitKey(waiter.connection.remote.address, context.limits.ipv6PrefixLength);
  return (
    context.relayTicketIpLimiter.allow(network, 1, now) &&
    context.relayTicketPeerLimiter.allow(waiter.targetId, 1, now)
  );
}
