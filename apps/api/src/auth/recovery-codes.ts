import { createHmac, hkdfSync } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import { type RecoveryCodeLookup, type StoredRecoveryCode } from '@switchboard/data-access';

import { API_SECRETS } from '../app.tokens';
import { type RandomSource } from '../random/random-source';
import { type ApiSecrets } from '../secrets';
import { sha256 } from './opaque-token';

export const RECOVERY_CODE_COUNT = 10;
// Base32 without look-alikes' confusion (RFC 4648 lower case): 10 characters = 50 bits per code,
// plenty for a single-use secret behind the login ladder.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const CODE_LENGTH = 10;
const KEY_INFO = 'switchboard recovery codes';

/** Fresh codes as shown to the user once, `xxxxx-xxxxx`. */
export function newRecoveryCodes(random: RandomSource): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: CODE_LENGTH }, () => ALPHABET[random.int(ALPHABET.length)]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** The SHA-256 of the code without case, dashes or spaces: all that was stored before keys. */
export function unkeyedRecoveryCodeDigest(code: string): Buffer {
  return sha256(code.toLowerCase().replace(/[\s-]/g, ''));
}

/**
 * Recovery-code digests keyed by the server: HMAC-SHA256, under a key derived (HKDF) from each data
 * key, of the code's SHA-256. 50 bits are within reach of a GPU against a bare hash; without the key
 * a copy of the database is not. Hashing the SHA-256 rather than the code lets the rows of before
 * keys be upgraded in place without knowing their codes.
 */
@Injectable()
export class RecoveryCodeDigests {
  private readonly currentKeyId: string;
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(@Inject(API_SECRETS) secrets: ApiSecrets) {
    this.currentKeyId = secrets.dataKeyring.currentKeyId;
    this.keys = new Map(
      [...secrets.dataKeyring.keys].map(([keyId, key]) => [
        keyId,
        Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), KEY_INFO, 32)),
      ]),
    );
  }

  /** How a new code is stored: under the current key. */
  stored(code: string): StoredRecoveryCode {
    return this.keyedOf(unkeyedRecoveryCodeDigest(code));
  }

  /** Everything a presented code may be stored as (each key of the ring, and the bare digest). */
  lookup(code: string): RecoveryCodeLookup {
    const unkeyed = unkeyedRecoveryCodeDigest(code);
    return {
      keyed: [...this.keys.values()].map((key) => createHmac('sha256', key).update(unkeyed).digest()),
      legacy: unkeyed,
    };
  }

  /** A row of before keys, keyed under the current key. */
  keyedOf(unkeyed: Buffer): StoredRecoveryCode {
    const key = this.keys.get(this.currentKeyId);
    if (key === undefined) throw new Error(`data key "${this.currentKeyId}" is missing from the keyring`);
    return { codeHash: createHmac('sha256', key).update(unkeyed).digest(), keyId: this.currentKeyId };
  }
}
