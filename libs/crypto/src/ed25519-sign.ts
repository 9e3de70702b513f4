import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

// nacl.sign through OpenSSL. tweetnacl's pure-JS Ed25519 costs ~7 ms a signature, and signal signs
// on every TCP connection (secure TCP) and every punch answer, so an unauthenticated client could
// buy milliseconds of CPU per connect. Ed25519 is deterministic (RFC 8032): the bytes are the same.

/** PKCS#8 DER header for an Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const keyObjects = new WeakMap<Uint8Array, KeyObject>();

/**
 * `nacl.sign(message, secretKey)`: the 64-byte signature followed by the message. `secretKey` is the
 * libsodium 64-byte form (seed, then public key), whose halves key-file parsing has checked agree.
 */
export function signCombined(message: Uint8Array, secretKey: Uint8Array): Buffer {
  return Buffer.concat([sign(null, message, privateKeyObject(secretKey)), message]);
}

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  let key = keyObjects.get(secretKey);
  if (key === undefined) {
    key = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, secretKey.subarray(0, 32)]),
      format: 'der',
      type: 'pkcs8',
    });
    keyObjects.set(secretKey, key);
  }
  return key;
}

/** SPKI DER header for an Ed25519 public key; the 32-byte key follows. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const publicKeyObjects = new WeakMap<Uint8Array, KeyObject>();

/** The 64-byte Ed25519 signature of `message` alone (no message appended), for records we define. */
export function signDetached(message: Uint8Array, secretKey: Uint8Array): Buffer {
  return sign(null, message, privateKeyObject(secretKey));
}

/** Whether `signature` is `publicKey`'s Ed25519 signature of `message`. Never throws on bad input. */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  let key = publicKeyObjects.get(publicKey);
  if (key === undefined) {
    key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    publicKeyObjects.set(publicKey, key);
  }
  return verify(null, message, key, signature);
}
