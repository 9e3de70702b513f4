import { createCipheriv, createDecipheriv } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';

import { API_RANDOM, API_SECRETS } from '../app.tokens';
import { type DataKeyring } from '../data-keyring';
import { cryptoRandom, type RandomSource } from '../random/random-source';
import { type ApiSecrets } from '../secrets';

const ALGORITHM = 'aes-256-gcm';
/** Before key ids: version ‖ iv ‖ tag ‖ ciphertext, under the one key there was. */
const VERSION_WITHOUT_KEY_ID = 1;
const VERSION = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The sealed value cannot be opened: wrong key, tampered bytes, or sealed for another owner. */
export class SealedValueError extends Error {
  constructor() {
    super('Sealed value cannot be opened');
    this.name = 'SealedValueError';
  }
}

/**
 * Seals small secrets at rest (TOTP secrets) with AES-256-GCM under the current key of
 * DATA_ENCRYPTION_KEY, and opens them under whichever key of the ring sealed them, so the key can be
 * rotated without re-encrypting anything first.
 * Layout: version (2) ‖ key id length (1) ‖ key id ‖ iv (12) ‖ tag (16) ‖ ciphertext. The owner (a
 * user id) and the key id are the associated data, so a sealed secret copied onto another user's row,
 * or relabelled with another key id, does not open. Version 1 values (no key id) are tried under
 * every key: GCM's tag tells the right one.
 */
@Injectable()
export class SecretBox {
  private readonly keyring: DataKeyring;

  constructor(
    @Inject(API_SECRETS) secrets: ApiSecrets,
    @Inject(API_RANDOM) private readonly random: RandomSource = cryptoRandom,
  ) {
    this.keyring = secrets.dataKeyring;
  }

  seal(plaintext: string, owner: string): Buffer {
    const keyId = this.keyring.currentKeyId;
    const key = this.keyOf(keyId);
    const iv = this.random.bytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(owner, keyId));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const id = Buffer.from(keyId, 'ascii');
    return Buffer.concat([Buffer.from([VERSION, id.length]), id, iv, cipher.getAuthTag(), ciphertext]);
  }

  open(sealed: Buffer, owner: string): string {
    if (sealed[0] === VERSION_WITHOUT_KEY_ID) {
      for (const key of this.keyring.keys.values()) {
        const opened = decrypt(key, sealed.subarray(1), Buffer.from(owner, 'utf8'));
        if (opened !== undefined) return opened;
      }
      throw new SealedValueError();
    }
    if (sealed[0] !== VERSION || sealed.length < 2) throw new SealedValueError();
    const idEnd = 2 + (sealed[1] ?? 0);
    const keyId = sealed.subarray(2, idEnd).toString('ascii');
    const key = this.keyring.keys.get(keyId);
    const opened =
      key === undefined ? undefined : decrypt(key, sealed.subarray(idEnd), associatedData(owner, keyId));
    if (opened === undefined) throw new SealedValueError();
    return opened;
  }

  private keyOf(keyId: string): Buffer {
    const key = this.keyring.keys.get(keyId);
    if (key === undefined) throw new Error(`data key "${keyId}" is missing from the keyring`);
    return key;
  }
}

function associatedData(owner: string, keyId: string): Buffer {
  return Buffer.from(`${keyId}\n${owner}`, 'utf8');
}

/** iv ‖ tag ‖ ciphertext under `key`, or undefined when it does not open. */
function decrypt(key: Buffer, body: Buffer, aad: Buffer): string | undefined {
  if (body.length < IV_BYTES + TAG_BYTES) return undefined;
  const decipher = createDecipheriv(ALGORITHM, key, body.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(body.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}
