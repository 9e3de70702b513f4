import nacl from 'tweetnacl';

import { decodeBase64, encodeBase64 } from './base64';

// The server's Ed25519 identity in hbbs's key-file format (docs/protocol.md §4; rustdesk-server
// src/common.rs gen_sk): `id_ed25519` is the base64 of the 64-byte libsodium secret key (seed ‖ pk),
// `id_ed25519.pub` the base64 of the 32-byte pk, neither with a newline.

export const SECRET_KEY_BYTES = nacl.sign.secretKeyLength;
export const PUBLIC_KEY_BYTES = nacl.sign.publicKeyLength;
const SEED_BYTES = nacl.sign.seedLength;

export interface IdentityKeyPair {
  /** 32 bytes; its base64 is the "Key" admins paste into clients. */
  readonly publicKey: Uint8Array;
  /** 64 bytes, libsodium layout: seed followed by the public key. */
  readonly secretKey: Uint8Array;
}

export type KeyFileProblem =
  'not-base64' | 'wrong-length' | 'halves-mismatch' | 'pair-mismatch' | 'no-usable-key';

/** A key file or key value that cannot be used; `message` names what is wrong, never the key itself. */
export class KeyFileError extends Error {
  constructor(
    readonly problem: KeyFileProblem,
    message: string,
  ) {
    super(message);
    this.name = 'KeyFileError';
  }
}

export type RandomBytes = (length: number) => Uint8Array;

// hbbs gives up after 300 tries; each try has about a 50% chance of a '/' in the 44 characters.
export const MAX_GENERATE_ATTEMPTS = 300;

/**
 * A fresh identity key pair. Like hbbs, retries until the base64 public key has no '/', so the Key
 * survives being put in a path or URL.
 */
export function generateIdentityKeyPair(
  random: RandomBytes = (length) => nacl.randomBytes(length),
  maxAttempts = MAX_GENERATE_ATTEMPTS,
): IdentityKeyPair {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const seed = random(SEED_BYTES);
    if (seed.length !== SEED_BYTES) throw new RangeError(`random source returned ${seed.length} bytes`);
    const pair = nacl.sign.keyPair.fromSeed(seed);
    if (!encodeBase64(pair.publicKey).includes('/')) return pair;
  }
  throw new KeyFileError('no-usable-key', `no public key without '/' in ${maxAttempts} attempts`);
}

export function encodeSecretKeyFile(secretKey: Uint8Array): string {
  expectLength(secretKey, SECRET_KEY_BYTES, 'secret key');
  return encodeBase64(secretKey);
}

export function encodePublicKeyFile(publicKey: Uint8Array): string {
  expectLength(publicKey, PUBLIC_KEY_BYTES, 'public key');
  return encodeBase64(publicKey);
}

/**
 * Reads `id_ed25519`. Stricter than hbbs, which trusts the stored public half: a secret key whose
 * public half is not the seed's own would sign with one key while clients are told another.
 */
export function parseSecretKeyFile(text: string): IdentityKeyPair {
  const secretKey = decodeKey(text, SECRET_KEY_BYTES, 'secret key');
  const derived = nacl.sign.keyPair.fromSeed(secretKey.subarray(0, SEED_BYTES));
  if (!nacl.verify(derived.publicKey, secretKey.subarray(SEED_BYTES))) {
    throw new KeyFileError(
      'halves-mismatch',
      'secret key is corrupt: its public half does not match its seed',
    );
  }
  return { publicKey: derived.publicKey, secretKey };
}

/** Reads `id_ed25519.pub`. */
export function parsePublicKeyFile(text: string): Uint8Array {
  return decodeKey(text, PUBLIC_KEY_BYTES, 'public key');
}

/** Reads both files and checks that the `.pub` belongs to the secret key. */
export function parseKeyFilePair(files: { secretKeyFile: string; publicKeyFile: string }): IdentityKeyPair {
  const pair = parseSecretKeyFile(files.secretKeyFile);
  const publicKey = parsePublicKeyFile(files.publicKeyFile);
  if (!nacl.verify(publicKey, pair.publicKey)) {
    throw new KeyFileError('pair-mismatch', 'public key does not belong to the secret key');
  }
  return pair;
}

function decodeKey(text: string, length: number, what: string): Uint8Array {
  const bytes = decodeBase64(text.trim());
  if (bytes === undefined) throw new KeyFileError('not-base64', `${what} is not valid base64`);
  if (bytes.length !== length) {
    throw new KeyFileError('wrong-length', `${what} must decode to ${length} bytes (got ${bytes.length})`);
  }
  return bytes;
}

function expectLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw new RangeError(`${what} must be ${length} bytes (got ${bytes.length})`);
}
