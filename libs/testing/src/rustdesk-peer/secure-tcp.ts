import { answerServerKeyExchange, type RandomBytes } from '@switchboard/crypto';
import { decodeRendezvous } from '@switchboard/protocol';

import { LinkClosedError, PeerProtocolError } from './errors';
import { type FramedLink } from './framed-link';

// The client side of secure TCP, as rustdesk src/common.rs secure_tcp_impl does it: read the first
// frame; if it is a KeyExchange, check its single key against the configured Key and answer with our
// box key and a sealed session key; from then on every frame is secretbox'd. Anything else as the
// first frame is consumed and the link stays in the clear. Over WebSocket the client skips all this.

export type SecureTcpResult =
  /** The server offered a correctly signed key; the link is now encrypted. */
  | 'secured'
  /** The first frame was not a KeyExchange (or the link closed): it was dropped, the link stays plain. */
  | 'not-offered'
  /** WebSocket links are never secured by the client (wss provides transport security). */
  | 'websocket';

/** The server's KeyExchange was not acceptable: the client gives up with "Failed to secure tcp". */
export class SecureTcpError extends PeerProtocolError {
  constructor(readonly reason: string) {
    super(`secure TCP failed: ${reason}`);
    this.name = 'SecureTcpError';
  }
}

export interface SecureTcpOptions {
  /** The 32-byte Ed25519 key the server's box key must be signed with (the decoded `.pub`). */
  serverKey: Uint8Array;
  /** The client waits READ_TIMEOUT (18 s) for the first frame; a silent server fails the call. */
  timeoutMs: number;
  /** Supplies our box secret key, then the session key (fixed bytes reproduce the spec vectors). */
  random?: RandomBytes;
}

export async function secureTcp(link: FramedLink, options: SecureTcpOptions): Promise<SecureTcpResult> {
  if (link.transport === 'ws') return 'websocket';
  let frame: Buffer;
  try {
    frame = await link.nextFrame(options.timeoutMs, 'secure TCP: server KeyExchange');
  } catch (error) {
    if (error instanceof LinkClosedError) return 'not-offered';
    throw error;
  }
  const decoded = decodeRendezvous(frame);
  if (!decoded.ok || decoded.payload.$case !== 'keyExchange') return 'not-offered';
  const answer = answerServerKeyExchange(decoded.payload.value.keys, options.serverKey, options.random);
  if (!answer.ok) throw new SecureTcpError(answer.error.kind);
  await link.sendRendezvous({ $case: 'keyExchange', value: { keys: [...answer.keys] } });
  link.useCipher(answer.cipher);
  return 'secured';
}
