import { type RegisterPk, RegisterPkResponse_Result } from '@switchboard/protocol';

import { type SignalConnection } from '../connection';
import { type RendezvousContext } from '../rendezvous-context';
import { handleRegisterPk, type RegisterPkOutcome } from './register-pk';
import { finishOneShot, type StreamOutcome } from './stream-outcome';

/**
 * RegisterPk on a long-lived TCP/WS link (§5.11a; the client side is rustdesk
 * src/rendezvous_mediator.rs start_tcp): the same checks as over UDP, an answer with keep_alive,
 * and on OK the link becomes the peer's: it stays online while the link lives and PunchHole,
 * FetchLocalAddr and RequestRelay go down it.
 */
export function registerOverLink(
  context: RendezvousContext,
  connection: SignalConnection,
  message: RegisterPk,
): StreamOutcome {
  const outcome = handleRegisterPk(context, message, {
    ip: connection.remote.address,
    port: connection.remote.port,
    returnRoutable: true,
  });
  if (outcome instanceof Promise) {
    void outcome.then((settled) => answerOverLink(context, connection, settled));
  } else {
    answerOverLink(context, connection, outcome);
  }
  // The answer decides whether the connection stays.
  return 'keep-open';
}

function answerOverLink(
  context: RendezvousContext,
  connection: SignalConnection,
  outcome: RegisterPkOutcome,
): void {
  // The stored identity was read meanwhile: the client may have gone.
  if (connection.closed) return;
  if (outcome.kind === 'ignored') {
    finishOneShot(connection, 'handled');
    return;
  }
  connection.sendMessage({
    $case: 'registerPkResponse',
    value: { result: outcome.result, keepAlive: context.limits.keepAliveSeconds },
  });
  if (outcome.result === RegisterPkResponse_Result.OK && outcome.peer !== undefined) {
    context.bindLink(outcome.peer, connection);
  } else {
    // Not registered (yet): the client retries on this link every 15–30 s, so give it the link's patience.
    connection.setMessageTimeout(context.limits.linkIdleTimeoutMs);
  }
}
