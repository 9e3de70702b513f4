import { type CloseReason, type SignalConnection } from '../connection';

/**
 * What a TCP/WS connection does once a handler has dealt with its message: stay open for an answer
 * still to come (a punch or relay request, a RegisterPk being checked), or finish as a one-shot
 * request, with the reason it closes for.
 */
export type StreamOutcome =
  'keep-open' | Extract<CloseReason, 'handled' | 'rate-limited' | 'unexpected-message'>;

/** One-shot requests close their connection, except on a registration link, which stays up. */
export function finishOneShot(connection: SignalConnection, reason: CloseReason): void {
  if (connection.registeredPeer === undefined) connection.close(reason);
}
