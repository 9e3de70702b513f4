import { type RequestRelay, RelayResponse } from '@switchboard/protocol';

import { type SignalConnection } from '../connection';
import { type RelayOutcome } from '../metrics';
import {
  controlledContextFor,
  deliverToPeer,
  mangle,
  punchKey,
  type RendezvousContext,
} from '../rendezvous-context';
import { refusedTargetIsUnknown } from './refused-target';

// RequestRelay from A (docs/protocol.md §5.7; rustdesk-server src/rendezvous_server.rs handle_tcp): A
// waits in the punch map and B is asked to join the relay with A's uuid. No ticket yet: A chose the
// uuid, and only B's answer (relay-response.ts) makes it a brokered session. Where upstream stays
// silent (target unknown or offline) A gets a refuse_reason at once instead of an 18 s timeout; the
// texts are the client's own translation keys.

const OFFLINE = 'Remote desktop is offline';
const UNKNOWN = 'ID does not exist';

export function handleRequestRelay(
  context: RendezvousContext,
  connection: SignalConnection,
  request: RequestRelay,
): void {
  const id = request.id;
  const reach = context.access.checkReachable(id);
  if (!reach.allowed) {
    context.metrics.refusal(reach.refusal);
    const unknown = refusedTargetIsUnknown(context, id, reach.refusal);
    refuse(context, connection, unknown ? UNKNOWN : OFFLINE, 'refused-access');
    return;
  }
  const peer = context.peers.get(id);
  const now = context.clock.now();
  if (peer === undefined || !context.peers.isOnline(peer, now)) {
    const unknown = peer === undefined && !context.access.isKnownDevice(id);
    refuse(context, connection, unknown ? UNKNOWN : OFFLINE, 'refused-offline');
    return;
  }
  const key = punchKey(connection.remote.address, connection.remote.port);
  if (key === undefined) return;
  const relayRequest = { uuid: request.uuid, relayServer: request.relayServer };
  const evicted = context.punches.put(key, { connection, targetId: id, relayRequest }, now);
  if (evicted !== undefined)
    context.logger.warn({ cap: context.limits.punchMapCap }, 'punch map full, oldest request dropped');
  connection.awaitingPeer = true;

  // Upstream forwards the request as it came; A's login token and licence key are not B's business,
  // but who A is, vouched for by signal, is (controlledContextFor).
  const controlledContext = controlledContextFor(context, request.token, id);
  deliverToPeer(context, peer, {
    $case: 'requestRelay',
    value: {
      ...request,
      socketAddr: mangle(context, connection.remote.address, connection.remote.port),
      token: '',
      licenceKey: '',
      controlledContext,
    },
  });
  context.metrics.relay('request-sent-to-peer');
}

function refuse(
  context: RendezvousContext,
  connection: SignalConnection,
  refuseReason: string,
  outcome: RelayOutcome,
): void {
  context.metrics.relay(outcome);
  connection.sendMessage({ $case: 'relayResponse', value: RelayResponse.create({ refuseReason }) });
}
