import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';

import { API_SECRETS } from '../app.tokens';
import { type ApiSecrets } from '../secrets';

const ALGORITHM = 'aes-256-gcm';
const VERSION = 1;
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
 * Seals small secrets at rest (TOTP secrets) with AES-256-GCM under DATA_ENCRYPTION_KEY.
 * Layout: version (1) ‖ iv (12) ‖ tag (16) ‖ ciphertext. The owner (a user id) is the associated
 * data, so a sealed secret copied onto another user's row does not open.
 */
@Injectable()
export class SecretBox {
  private readonly key: Buffer;

  constructor(@Inject(API_SECRETS) secrets: ApiSecrets) {
    this.key = secrets.dataEncryptionKey;
  }

  seal(plaintext: string, owner: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(owner, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  open(sealed: Buffer, owner: string): string {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new SealedValueError();
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv(ALGORITHM, this.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(owner, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([
        decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SealedValueError();
    }
  }
}
