import { type KeyExchange } from '@switchboard/protocol';

import { type SignalConnection } from '../connection';
import { type RendezvousContext } from '../rendezvous-context';

// The client's half of secure TCP (docs/protocol.md §4 step 2): its box key and the symmetric key sealed
// to ours. No reply; every later non-empty frame is secretbox'd. A bad one closes the connection.

export function handleKeyExchange(
  context: RendezvousContext,
  connection: SignalConnection,
  message: KeyExchange,
): void {
  const channel = connection.channel;
  if (channel === undefined) {
    connection.close('unexpected-message');
    return;
  }
  const result = channel.acceptClientKeyExchange(message.keys);
  if (result.ok) return;
  context.metrics.secureChannelFailure(result.error.kind);
  connection.logger.warn({ error: result.error }, 'secure-TCP key exchange failed, closing');
  connection.destroy('key-exchange-failed');
}
