import {
  FetchLocalAddr,
  PunchHole,
  type PunchHoleRequest,
  PunchHoleResponse,
  PunchHoleResponse_Failure,
} from '@switchboard/protocol';

import { type SignalConnection } from '../connection';
import { type PunchOutcome } from '../metrics';
import {
  controlledContextFor,
  deliverToPeer,
  mangle,
  punchKey,
  type RendezvousContext,
} from '../rendezvous-context';
import { refusedTargetIsUnknown } from './refused-target';

// PunchHoleRequest from A on TCP 21116 or WS (docs/protocol.md §5.6; rustdesk-server
// src/rendezvous_server.rs handle_punch_hole_request). A's connection waits in the punch map for B's
// answer; B is asked to punch (or, on the same public IP, for its LAN address).

export function handlePunchHoleRequest(
  context: RendezvousContext,
  connection: SignalConnection,
  request: PunchHoleRequest,
): void {
  const licence = context.serverKey.licenceKey;
  if (licence !== undefined && request.licenceKey !== licence) {
    fail(context, connection, PunchHoleResponse_Failure.LICENSE_MISMATCH, 'licence-mismatch');
    return;
  }
  const id = request.id;
  // Banned, deleted or pending targets look offline (docs/protocol.md §7); an unknown id is just that.
  const reach = context.access.checkReachable(id);
  if (!reach.allowed) {
    context.metrics.refusal(reach.refusal);
    if (refusedTargetIsUnknown(context, id, reach.refusal))
      fail(context, connection, PunchHoleResponse_Failure.ID_NOT_EXIST, 'id-not-exist');
    else fail(context, connection, PunchHoleResponse_Failure.OFFLINE, 'refused');
    return;
  }
  const peer = context.peers.get(id);
  // hbbs also looks in its database: a device known there but not heard from since is OFFLINE.
  if (peer === undefined && !context.access.isKnownDevice(id)) {
    fail(context, connection, PunchHoleResponse_Failure.ID_NOT_EXIST, 'id-not-exist');
    return;
  }
  const now = context.clock.now();
  if (peer === undefined || !context.peers.isOnline(peer, now)) {
    fail(context, connection, PunchHoleResponse_Failure.OFFLINE, 'offline');
    return;
  }
  const key = punchKey(connection.remote.address, connection.remote.port);
  if (key === undefined) return;
  const evicted = context.punches.put(key, { connection, targetId: id }, now);
  if (evicted !== undefined)
    context.logger.warn({ cap: context.limits.punchMapCap }, 'punch map full, oldest request dropped');
  connection.awaitingPeer = true;

  const relayServer = context.relays.pick();
  const controlledContext = controlledContextFor(context, request.token, id);
  const socketAddr = mangle(context, connection.remote.address, connection.remote.port);
  const peerAddress = peer.link !== undefined && !peer.link.closed ? peer.link.remote.address : peer.address;
  // Routers drop hairpin connections, so two peers behind one public IP need their LAN addresses.
  // Not over WS: a WS client cannot take a direct connection anyway.
  if (connection.listener !== 'ws' && peerAddress === connection.remote.address) {
    deliverToPeer(context, peer, {
      $case: 'fetchLocalAddr',
      value: FetchLocalAddr.create({ socketAddr, relayServer, controlledContext }),
    });
    context.metrics.punch('fetch-local-addr-sent-to-peer');
    return;
  }
  // udp_port, force_relay and the IPv6 address are not forwarded, as upstream: a client that forces
  // relay already says SYMMETRIC.
  deliverToPeer(context, peer, {
    $case: 'punchHole',
    value: PunchHole.create({ socketAddr, relayServer, natType: request.natType, controlledContext }),
  });
  context.metrics.punch('punch-hole-sent-to-peer');
}

function fail(
  context: RendezvousContext,
  connection: SignalConnection,
  failure: PunchHoleResponse_Failure,
  outcome: PunchOutcome,
): void {
  context.metrics.punch(outcome);
  // No socket_addr: the client reads the response as this failure (docs/protocol.md §2 pitfall).
  connection.sendMessage({ $case: 'punchHoleResponse', value: PunchHoleResponse.create({ failure }) });
}
