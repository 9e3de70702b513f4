import { AuditKeyringError, parseAuditKeyring } from '@switchboard/audit';

/**
 * The keys of DATA_ENCRYPTION_KEY (TOTP secrets sealed at rest, recovery-code HMACs). New values use
 * the current key; the others only open what was made before a rotation. Text form as
 * AUDIT_HMAC_KEYS, `keyId:base64key[,...]`, current key last; a bare base64 key (the form before key
 * ids) is the key `k0`, so rotating from it reads `k0:<old>,k1:<new>`.
 */
export interface DataKeyring {
  readonly currentKeyId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

export const DATA_KEY_BYTES = 32;
export const IMPLICIT_DATA_KEY_ID = 'k0';

/** Lists every problem; never includes key material. */
export class DataKeyringError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid data keyring: ${problems.join('; ')}`);
    this.name = 'DataKeyringError';
  }
}

export function parseDataKeyring(text: string): DataKeyring {
  const withIds = text.includes(':') ? text : `${IMPLICIT_DATA_KEY_ID}:${text}`;
  let parsed;
  try {
    parsed = parseAuditKeyring(withIds);
  } catch (error) {
    if (error instanceof AuditKeyringError) throw new DataKeyringError(error.problems);
    throw error;
  }
  const wrongSize = [...parsed.keys]
    .filter(([, key]) => key.length !== DATA_KEY_BYTES)
    .map(([keyId]) => `key "${keyId}": must be ${DATA_KEY_BYTES} bytes`);
  if (wrongSize.length > 0) throw new DataKeyringError(wrongSize);
  return parsed;
}

/** A one-key ring's text form, as a new install writes it. */
export function formatNewDataKeyring(key: Buffer): string {
  return `k1:${key.toString('base64')}`;
}
