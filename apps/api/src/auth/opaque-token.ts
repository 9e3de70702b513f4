import { createHash, timingSafeEqual } from 'node:crypto';

import { type RandomSource } from '../random/random-source';

// Opaque secrets (session cookies, refresh tokens, recovery codes) are random, shown once, and kept
// only as their SHA-256: a database leak yields nothing that can be presented back.

const TOKEN_BYTES = 32;

/** 32 random bytes, base64url (43 characters). */
export function newOpaqueToken(random: RandomSource): string {
  return random.bytes(TOKEN_BYTES).toString('base64url');
}

export function sha256(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Constant-time equality of two secrets of any length: compares their SHA-256 digests, which are
 * always 32 bytes, so neither the content nor the length leaks through timing.
 */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}
