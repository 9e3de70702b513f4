import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  decodeBase64,
  encodePublicKeyFile,
  KeyFileError,
  parsePublicKeyFile,
  PUBLIC_KEY_BYTES,
  resolveKeyOption,
} from '@switchboard/crypto';

export const PUBLIC_KEY_FILE = 'id_ed25519.pub';

export class RelayKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RelayKeyError';
  }
}

export interface RelayKeys {
  /** What RequestRelay.licence_key must equal (hbbr `-k`); undefined for no check. */
  readonly licenceKey: string | undefined;
  /** Signal's Ed25519 public key, which verifies relay tickets; undefined when the relay has none. */
  readonly signalPublicKey: Uint8Array | undefined;
}

/**
 * The relay's view of signal's key (hbbr `-k`, docs/protocol.md §4). Unset KEY: signal's public key from
 * KEY_DIR when it is there, as both the licence key and the ticket key, else neither (hbbr's empty
 * default). `-`/`_` require that file: hbbr would generate a pair, but the relay never signs, so it
 * refuses to start rather than invent another key. A base64 secret key or public key gives both;
 * any other text is only a licence key. `none` turns the licence check off, yet the file, when
 * present, still verifies tickets. hbbr closes a mismatching client silently, and so do we.
 */
export async function loadRelayKeys(keyValue: string | undefined, keyDirectory: string): Promise<RelayKeys> {
  const path = join(keyDirectory, PUBLIC_KEY_FILE);
  if (keyValue === undefined) {
    const publicKey = await readPublicKey(path, 'optional');
    return { licenceKey: publicKey && encodePublicKeyFile(publicKey), signalPublicKey: publicKey };
  }
  let option;
  try {
    option = resolveKeyOption(keyValue);
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
    throw new RelayKeyError(`KEY is unusable: ${error.message}`, { cause: error });
  }
  switch (option.kind) {
    case 'no-licence-check':
      return { licenceKey: undefined, signalPublicKey: await readPublicKey(path, 'optional') };
    case 'secret-key':
      return { licenceKey: option.licenceKey, signalPublicKey: option.keyPair.publicKey };
    case 'licence-only': {
      // The Key admins paste into clients is signal's public key: then it verifies tickets too.
      const bytes = decodeBase64(option.licenceKey);
      const signalPublicKey =
        bytes?.length === PUBLIC_KEY_BYTES ? bytes : await readPublicKey(path, 'optional');
      return { licenceKey: option.licenceKey, signalPublicKey };
    }
    case 'key-files': {
      const publicKey = await readPublicKey(path, 'required');
      return { licenceKey: encodePublicKeyFile(publicKey), signalPublicKey: publicKey };
    }
  }
}

async function readPublicKey(path: string, need: 'required'): Promise<Uint8Array>;
async function readPublicKey(path: string, need: 'optional'): Promise<Uint8Array | undefined>;
async function readPublicKey(path: string, need: 'required' | 'optional'): Promise<Uint8Array | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (need === 'optional') return undefined;
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
