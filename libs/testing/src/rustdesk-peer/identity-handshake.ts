import nacl from 'tweetnacl';

import { FrameCipher, signIdPk, verifySignedIdPk, type IdentityKeyPair } from '@switchboard/crypto';

import { PeerProtocolError } from './errors';
import { type FramedLink } from './framed-link';

// The peer-to-peer handshake that starts every session, direct or relayed (docs/protocol.md §8.4).
// Controlled side (rustdesk src/server.rs identity_handshake): send Message{signed_id:
// sign(IdPk{own id, fresh box pk}, own Ed25519 sk)} and key the link with the session key the
// controller seals to that box key. Controlling side (src/client.rs secure_connection): check the
// SignedId against the peer's Ed25519 pk that hbbs vouched for (the signed pk of PunchHoleResponse
// or RelayResponse), then answer with Message{public_key{our box pk, sealed session key}}.
// Both sides fall back to an unencrypted session rather than failing, exactly like the client.

const ZERO_NONCE = new Uint8Array(nacl.box.nonceLength);

export type ControllerHandshakeResult =
  | { readonly secured: true; readonly peerPk: Buffer }
  /**
   * Why the session runs in the clear: the server's signed pk was missing or did not verify
   * ('no-signed-pk', 'bad-signed-pk'), or the peer's SignedId did not verify under it
   * ('bad-signed-id', 'wrong-peer-id'), or the peer sent something else ('no-signed-id').
   */
  | {
      readonly secured: false;
      readonly reason: 'no-signed-pk' | 'bad-signed-pk' | 'bad-signed-id' | 'wrong-peer-id' | 'no-signed-id';
    };

export interface ControllerHandshakeOptions {
  /** The id we dialled: both the server's IdPk and the peer's SignedId must name it. */
  peerId: string;
  /** PunchHoleResponse.pk / RelayResponse.pk, as received (possibly empty). */
  signedPeerPk: Uint8Array;
  /** The server's Key (32 bytes), or undefined when the client has none configured. */
  serverKey: Uint8Array | undefined;
  timeoutMs: number;
}

export async function handshakeAsController(
  link: FramedLink,
  options: ControllerHandshakeOptions,
): Promise<ControllerHandshakeResult> {
  const vouched =
    options.signedPeerPk.length > 0 && options.serverKey
      ? verifySignedIdPk(options.signedPeerPk, options.serverKey)
      : undefined;
  if (!vouched || vouched.id !== options.peerId) {
    // An empty Message, "in case the peer is setting up secure and waiting for the first message".
    await link.sendFrame(new Uint8Array(0));
    return { secured: false, reason: options.signedPeerPk.length === 0 ? 'no-signed-pk' : 'bad-signed-pk' };
  }
  const message = await link.nextPeerMessage(options.timeoutMs, 'handshake: SignedId from the peer');
  if (message?.$case !== 'signedId') {
    await link.sendFrame(new Uint8Array(0));
    return { secured: false, reason: 'no-signed-id' };
  }
  const theirs = verifySignedIdPk(message.value.id, vouched.pk);
  if (!theirs) {
    // Signed by some other key: the client falls back to an unencrypted session with an empty
    // PublicKey, which also tells the peer to re-register its key.
    await link.sendPeerMessage({
      $case: 'publicKey',
      value: { asymmetricValue: Buffer.alloc(0), symmetricValue: Buffer.alloc(0) },
    });
    return { secured: false, reason: 'bad-signed-id' };
  }
  if (theirs.id !== options.peerId) {
    await link.sendFrame(new Uint8Array(0));
    return { secured: false, reason: 'wrong-peer-id' };
  }
  const ours = nacl.box.keyPair();
  const sessionKey = nacl.randomBytes(nacl.secretbox.keyLength);
  const sealed = nacl.box(sessionKey, ZERO_NONCE, theirs.pk, ours.secretKey);
  await link.sendPeerMessage({
    $case: 'publicKey',
    value: { asymmetricValue: Buffer.from(ours.publicKey), symmetricValue: Buffer.from(sealed) },
  });
  link.useCipher(new FrameCipher(sessionKey));
  return { secured: true, peerPk: vouched.pk };
}

export type ControlledHandshakeResult =
  | { readonly secured: true }
  /**
   * 'not-requested': the request did not ask for a secure session; 'declined': the controller
   * answered with an empty PublicKey (our registered key is stale, the client re-registers it) or
   * with another message.
   */
  | { readonly secured: false; readonly reason: 'not-requested' | 'declined' };

export interface ControlledHandshakeOptions {
  id: string;
  identity: IdentityKeyPair;
  /** RequestRelay.secure, or true for sessions B set up itself (create_relay with initiate). */
  secure: boolean;
  timeoutMs: number;
}

export async function handshakeAsControlled(
  link: FramedLink,
  options: ControlledHandshakeOptions,
): Promise<ControlledHandshakeResult> {
  if (!options.secure) return { secured: false, reason: 'not-requested' };
  const box = nacl.box.keyPair();
  await link.sendPeerMessage({
    $case: 'signedId',
    value: { id: signIdPk(options.id, box.publicKey, options.identity) },
  });
  const message = await link.nextPeerMessage(options.timeoutMs, 'handshake: PublicKey from the controller');
  if (message?.$case !== 'publicKey') return { secured: false, reason: 'declined' };
  const { asymmetricValue, symmetricValue } = message.value;
  if (asymmetricValue.length === 0) return { secured: false, reason: 'declined' };
  if (asymmetricValue.length !== nacl.box.publicKeyLength) {
    throw new PeerProtocolError(`handshake: controller box key has ${asymmetricValue.length} bytes`);
  }
  const sessionKey = nacl.box.open(symmetricValue, ZERO_NONCE, asymmetricValue, box.secretKey);
  if (!sessionKey || sessionKey.length !== nacl.secretbox.keyLength) {
    throw new PeerProtocolError('handshake: the sealed session key does not open');
  }
  link.useCipher(new FrameCipher(sessionKey));
  return { secured: true };
}
