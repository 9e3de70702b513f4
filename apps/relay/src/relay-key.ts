import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { encodePublicKeyFile, KeyFileError, parsePublicKeyFile, resolveKeyOption } from '@switchboard/crypto';

export const PUBLIC_KEY_FILE = 'id_ed25519.pub';

export class RelayKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RelayKeyError';
  }
}

/**
 * The licence key RequestRelay must carry (hbbr `-k`, RUSTDESK.md §4), or undefined for no check.
 * For `-`/`_` hbbr would load or even generate a key pair; the relay never signs, so it only reads
 * the public key signal wrote, and refuses to start without it rather than invent a different one.
 */
export async function loadRelayLicenceKey(
  keyValue: string,
  keyDirectory: string,
): Promise<string | undefined> {
  let option;
  try {
    option = resolveKeyOption(keyValue);
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
    throw new RelayKeyError(`KEY is unusable: ${error.message}`, { cause: error });
  }
  switch (option.kind) {
    case 'no-licence-check':
      return undefined;
    case 'secret-key':
    case 'licence-only':
      return option.licenceKey;
    case 'key-files':
      return encodePublicKeyFile(await readPublicKey(join(keyDirectory, PUBLIC_KEY_FILE)));
  }
}

async function readPublicKey(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new RelayKeyError(
      `KEY=- needs signal's public key at ${path}, which does not exist. Point KEY_DIR at signal's key ` +
        'directory (or run `signal keys` there first), or set KEY to the public key itself.',
      { cause: error },
    );
  }
  try {
    return parsePublicKeyFile(text);
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
    throw new RelayKeyError(`${path} is unusable: ${error.message}`, { cause: error });
  }
}
