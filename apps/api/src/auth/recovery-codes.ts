import { randomInt } from 'node:crypto';

import { sha256 } from './opaque-token';

export const RECOVERY_CODE_COUNT = 10;
// Base32 without look-alikes' confusion (RFC 4648 lower case): 10 characters = 50 bits per code,
// plenty for a single-use secret behind the login ladder.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const CODE_LENGTH = 10;

/** Fresh codes as shown to the user once, `xxxxx-xxxxx`. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: CODE_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** What is stored and looked up: the SHA-256 of the code without case, dashes or spaces. */
export function recoveryCodeDigest(code: string): Buffer {
  return sha256(code.toLowerCase().replace(/[\s-]/g, ''));
}
