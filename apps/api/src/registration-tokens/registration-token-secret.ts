import { createHash, timingSafeEqual } from 'node:crypto';

import { cryptoRandom, type RandomSource } from '../random/random-source';

/*
 * Registration tokens: `sbr_<prefix>_<secret>`, hex both. The prefix (public, unique) finds the row;
 * the row keeps only the SHA-256 of the whole token, compared in constant time. Hex keeps `_` a safe
 * separator and the token a single shell word for `rustdesk --deploy --token ...`.
 */

const PREFIX_BYTES = 6;
const SECRET_BYTES = 32;
const TOKEN = /^sbr_([0-9a-f]{12})_([0-9a-f]{64})$/;

export interface GeneratedToken {
  readonly token: string;
  readonly prefix: string;
  readonly hash: Buffer;
}

export function generateRegistrationToken(random: RandomSource = cryptoRandom): GeneratedToken {
  const prefix = random.bytes(PREFIX_BYTES).toString('hex');
  const token = `sbr_${prefix}_${random.bytes(SECRET_BYTES).toString('hex')}`;
  return { token, prefix, hash: hashToken(token) };
}

/** The prefix of a well-formed token; null for anything else. */
export function registrationTokenPrefix(token: string): string | null {
  return TOKEN.exec(token)?.[1] ?? null;
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Constant time in the token: both sides are 32-byte digests. */
export function tokenMatches(token: string, storedHash: Uint8Array): boolean {
  const presented = hashToken(token);
  return storedHash.length === presented.length && timingSafeEqual(presented, storedHash);
}

/** Compared against when no row has the prefix, so an unknown prefix costs what a wrong secret does. */
export const DUMMY_TOKEN_HASH = hashToken('sbr_000000000000_dummy');
