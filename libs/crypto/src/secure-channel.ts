import { generateKeyPairSync } from 'node:crypto';

import nacl from 'tweetnacl';

import { asBuffer } from './bytes';
import { signCombined } from './ed25519-sign';
import { FrameCipher, SYMMETRIC_KEY_BYTES, type OpenResult } from './frame-cipher';
import { PUBLIC_KEY_BYTES, type IdentityKeyPair, type RandomBytes } from './identity-key';

// Secure TCP on hbbs's 21116 (docs/protocol.md §4; the client side is rustdesk src/common.rs
// secure_tcp and create_symmetric_key_msg, the server side follows rustdesk-server PRs #689/#699/#706).
// The server offers an ephemeral box key signed with its Ed25519 identity; the client answers with
// its own box key and a symmetric key boxed to the server's under a zero nonce; every later non-empty
// frame is secretbox'd (FrameCipher). Encoding KeyExchange{keys} is libs/protocol's job: this module
// produces and consumes the raw `keys`.

const BOX_KEY_BYTES = nacl.box.publicKeyLength;
/** nacl.sign output for a 32-byte box key: 64-byte signature followed by the key. */
export const SIGNED_BOX_KEY_BYTES = nacl.sign.signatureLength + BOX_KEY_BYTES;
const SEALED_SYMMETRIC_KEY_BYTES = nacl.box.overheadLength + SYMMETRIC_KEY_BYTES;
const ZERO_NONCE = new Uint8Array(nacl.box.nonceLength);

export type KeyExchangeError =
  /** The server sends exactly 1 key, the client answers with exactly 2. */
  | { readonly kind: 'wrong-key-count'; readonly count: number }
  /** The server's box key is not signed by the Key the client was configured with. */
  | { readonly kind: 'bad-signature' }
  | { readonly kind: 'wrong-key-length'; readonly which: 'box-key' | 'sealed-key'; readonly length: number }
  /** The sealed symmetric key does not open with our box key: wrong server, or tampered. */
  | { readonly kind: 'box-open-failed' }
  /** A client KeyExchange that is not the first message, or a second one. */
  | { readonly kind: 'unexpected'; readonly state: SecureChannelState };

export type KeyExchangeResult =
  { readonly ok: true } | { readonly ok: false; readonly error: KeyExchangeError };

export type SecureChannelState =
  /** The signed box key is (being) sent; the client's first message decides. */
  | 'awaiting-first-message'
  /** The client did not ask for security: frames pass through in the clear. */
  | 'plaintext'
  | 'secured'
  /** A key exchange failed; the caller closes the connection. */
  | 'failed';

const defaultRandom: RandomBytes = (length) => nacl.randomBytes(length);

export interface BoxKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * An X25519 pair from OpenSSL: ~0.15 ms against tweetnacl's ~2 ms for the scalar multiplication, paid
 * on every TCP connection, so before the client has proven anything. The same pair nacl.box.keyPair
 * would make: OpenSSL stores the secret clamped, which X25519 (and so nacl.box) applies anyway.
 */
export function generateBoxKeyPair(): BoxKeyPair {
  const jwk = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
  return {
    publicKey: Buffer.from(jwk.x ?? '', 'base64url'),
    secretKey: Buffer.from(jwk.d ?? '', 'base64url'),
  };
}

/**
 * The server side of one TCP connection. Send `signedBoxPublicKey` as `keys[0]` of a plaintext
 * KeyExchange as soon as the connection opens, pass every received frame through `open` and every
 * outgoing one through `seal`, and on the first decoded message call either
 * `acceptClientKeyExchange` (it was a KeyExchange) or `continueInPlaintext` (anything else).
 */
export class SecureChannel {
  private boxSecretKey: Uint8Array | undefined;
  private cipher: FrameCipher | undefined;
  private current: SecureChannelState = 'awaiting-first-message';

  /** 96 bytes: nacl.sign(ephemeral box public key, server Ed25519 secret key). */
  readonly signedBoxPublicKey: Buffer;

  /**
   * A fresh ephemeral box key pair per connection, so a leaked identity key cannot open recorded
   * sessions. `random`, when given (tests), supplies its 32-byte secret key; otherwise OpenSSL makes it.
   */
  constructor(signingKeyPair: IdentityKeyPair, random?: RandomBytes) {
    const box =
      random === undefined
        ? generateBoxKeyPair()
        : nacl.box.keyPair.fromSecretKey(expectLength(random(BOX_KEY_BYTES), BOX_KEY_BYTES, 'random'));
    this.boxSecretKey = box.secretKey;
    this.signedBoxPublicKey = signCombined(box.publicKey, signingKeyPair.secretKey);
  }

  get state(): SecureChannelState {
    return this.current;
  }

  /** `keys` of the client's KeyExchange: [client box public key (32), boxed symmetric key (48)]. */
  acceptClientKeyExchange(keys: readonly Uint8Array[]): KeyExchangeResult {
    const boxSecretKey = this.boxSecretKey;
    if (this.current !== 'awaiting-first-message' || boxSecretKey === undefined) {
      return fail({ kind: 'unexpected', state: this.current });
    }
    // One attempt per connection, and the ephemeral secret is gone either way.
    this.boxSecretKey = undefined;
    this.current = 'failed';
    const [clientBoxKey, sealedKey] = keys;
    if (keys.length !== 2 || clientBoxKey === undefined || sealedKey === undefined) {
      return fail({ kind: 'wrong-key-count', count: keys.length });
    }
    if (clientBoxKey.length !== BOX_KEY_BYTES) {
      return fail({ kind: 'wrong-key-length', which: 'box-key', length: clientBoxKey.length });
    }
    if (sealedKey.length !== SEALED_SYMMETRIC_KEY_BYTES) {
      return fail({ kind: 'wrong-key-length', which: 'sealed-key', length: sealedKey.length });
    }
    const symmetricKey = nacl.box.open(sealedKey, ZERO_NONCE, clientBoxKey, boxSecretKey);
    if (symmetricKey === null) return fail({ kind: 'box-open-failed' });
    this.cipher = new FrameCipher(symmetricKey);
    this.current = 'secured';
    return { ok: true };
  }

  /** The first message was not a KeyExchange: the link stays plaintext for good. */
  continueInPlaintext(): void {
    if (this.current !== 'awaiting-first-message') return;
    this.boxSecretKey = undefined;
    this.current = 'plaintext';
  }

  seal(plain: Uint8Array): Buffer {
    return this.cipher === undefined ? asBuffer(plain) : this.cipher.seal(plain);
  }

  open(frame: Uint8Array): OpenResult {
    return this.cipher === undefined ? { ok: true, plain: asBuffer(frame) } : this.cipher.open(frame);
  }
}

export type ClientKeyExchangeResult =
  | {
      readonly ok: true;
      /** `keys` for the client's KeyExchange: [client box public key, boxed symmetric key]. */
      readonly keys: readonly [Buffer, Buffer];
      /** Seals and opens every frame after that KeyExchange has been sent. */
      readonly cipher: FrameCipher;
    }
  | { readonly ok: false; readonly error: KeyExchangeError };

/**
 * The client side, as RustDesk's secure_tcp does it: check the server's single key against the
 * configured Key (`serverPublicKey`, its 32 decoded bytes), then box a fresh symmetric key to it.
 * `random` supplies the client's box secret key first, then the symmetric key.
 */
export function answerServerKeyExchange(
  keys: readonly Uint8Array[],
  serverPublicKey: Uint8Array,
  random: RandomBytes = defaultRandom,
): ClientKeyExchangeResult {
  expectLength(serverPublicKey, PUBLIC_KEY_BYTES, 'server public key');
  const [signed] = keys;
  if (keys.length !== 1 || signed === undefined) return fail({ kind: 'wrong-key-count', count: keys.length });
  const serverBoxKey = nacl.sign.open(signed, serverPublicKey);
  if (serverBoxKey === null) return fail({ kind: 'bad-signature' });
  if (serverBoxKey.length !== BOX_KEY_BYTES) {
    return fail({ kind: 'wrong-key-length', which: 'box-key', length: serverBoxKey.length });
  }
  const box = nacl.box.keyPair.fromSecretKey(expectLength(random(BOX_KEY_BYTES), BOX_KEY_BYTES, 'random'));
  const symmetricKey = expectLength(random(SYMMETRIC_KEY_BYTES), SYMMETRIC_KEY_BYTES, 'random');
  const sealed = nacl.box(symmetricKey, ZERO_NONCE, serverBoxKey, box.secretKey);
  return {
    ok: true,
    keys: [Buffer.from(box.publicKey), Buffer.from(sealed)],
    cipher: new FrameCipher(symmetricKey),
  };
}

function fail(error: KeyExchangeError): { readonly ok: false; readonly error: KeyExchangeError } {
  return { ok: false, error };
}

function expectLength(bytes: Uint8Array, length: number, what: string): Uint8Array {
  if (bytes.length !== length) throw new RangeError(`${what} must be ${length} bytes (got ${bytes.length})`);
  return bytes;
}
