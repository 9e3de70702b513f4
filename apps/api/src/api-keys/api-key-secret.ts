import { createHash } from 'node:crypto';

import { cryptoRandom, type RandomSource } from '../random/random-source';

/*
 * The key a client presents: `sbk_<prefix>_<secret>`. The prefix (12 of [a-z0-9], ~62 bits) is public
 * and finds the row; the secret is 32 random bytes in base64url. Only SHA-256 of the whole string is
 * stored: the key has 256 bits of entropy, so a fast hash is enough (no password-style stretching).
 */

const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const API_KEY_PREFIX_LENGTH = 12;
const SECRET_BYTES = 32;
// The prefix alphabet has no '_', so the first '_' after it always separates prefix and secret.
const API_KEY = /^sbk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface IssuedApiKey {
  /** The whole key, shown once. */
  readonly key: string;
  readonly prefix: string;
  readonly hash: Buffer;
}

export function issueApiKey(random: RandomSource = cryptoRandom): IssuedApiKey {
  let prefix = '';
  // random.int draws without modulo bias.
  for (let index = 0; index < API_KEY_PREFIX_LENGTH; index++) prefix += PREFIX_ALPHABET[random.int(36)];
  const key = `sbk_${prefix}_${random.bytes(SECRET_BYTES).toString('base64url')}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** The prefix of a well-formed key, or null. */
export function apiKeyPrefixOf(presented: string): string | null {
  return API_KEY.exec(presented)?.[1] ?? null;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
