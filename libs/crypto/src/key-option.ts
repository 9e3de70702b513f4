import { decodeBase64 } from './base64';
import {
  encodePublicKeyFile,
  encodeSecretKeyFile,
  KeyFileError,
  parseSecretKeyFile,
  SECRET_KEY_BYTES,
  type IdentityKeyPair,
} from './identity-key';

/**
 * What the `KEY` setting means, following hbbs/hbbr's `-k` (docs/protocol.md §4; rustdesk-server
 * src/rendezvous_server.rs get_server_sk).
 */
export type KeyOption =
  /** `-` or `_`: load or generate the key files; the licence key is their public key. */
  | { readonly kind: 'key-files' }
  /** The base64 of a 64-byte secret key: sign with it; the licence key is its public half. */
  | { readonly kind: 'secret-key'; readonly keyPair: IdentityKeyPair; readonly licenceKey: string }
  /** Any other text: that exact licence key, and no signing key (PunchHoleResponse.pk stays empty). */
  | { readonly kind: 'licence-only'; readonly licenceKey: string }
  /**
   * Empty, or `none`: no licence check. hbbs still loads or generates the key files to sign with;
   * hbbr does not.
   */
  | { readonly kind: 'no-licence-check' };

/**
 * The explicit spelling of hbbs's empty `-k`. Configuration from the environment cannot carry an
 * empty value (a blank variable counts as unset, i.e. the default, so that `KEY=` left over in a
 * template never silently turns the check off); this word says it on purpose. It therefore cannot
 * be used as a literal licence key.
 */
export const NO_LICENCE_CHECK_KEY = 'none';

/** Throws KeyFileError when the value is a 64-byte secret key whose halves do not match. */
export function resolveKeyOption(value: string): KeyOption {
  if (value === '' || value === NO_LICENCE_CHECK_KEY) return { kind: 'no-licence-check' };
  if (value === '-' || value === '_') return { kind: 'key-files' };
  const bytes = decodeBase64(value);
  if (bytes?.length === SECRET_KEY_BYTES) {
    const keyPair = parseSecretKeyFile(encodeSecretKeyFile(bytes));
    return { kind: 'secret-key', keyPair, licenceKey: encodePublicKeyFile(keyPair.publicKey) };
  }
  return { kind: 'licence-only', licenceKey: value };
}

/** False for a KEY that resolveKeyOption refuses: the check both services' configurations run. */
export function isUsableKeyOption(value: string): boolean {
  try {
    resolveKeyOption(value);
    return true;
  } catch (error) {
    if (error instanceof KeyFileError) return false;
    throw error;
  }
}

/** Whether the key files must be loaded (or created) for this option on the rendezvous server. */
export function signalNeedsKeyFiles(option: KeyOption): boolean {
  return option.kind === 'key-files' || option.kind === 'no-licence-check';
}

export interface ServerKey {
  /** What PunchHoleRequest.licence_key must equal; undefined means no licence check. */
  readonly licenceKey: string | undefined;
  /** Signs peer keys and the secure-TCP box key; undefined means clients get no signed pk. */
  readonly signingKeyPair: IdentityKeyPair | undefined;
}

/** Combines the option with the key files loaded for it (when the option uses them). */
export function serverKeyFor(option: KeyOption, keyFiles: IdentityKeyPair | undefined): ServerKey {
  switch (option.kind) {
    case 'key-files':
      if (keyFiles === undefined) throw new Error('KEY=- needs the key files to be loaded');
      return { licenceKey: encodePublicKeyFile(keyFiles.publicKey), signingKeyPair: keyFiles };
    case 'secret-key':
      return { licenceKey: option.licenceKey, signingKeyPair: option.keyPair };
    case 'licence-only':
      return { licenceKey: option.licenceKey, signingKeyPair: undefined };
    case 'no-licence-check':
      return { licenceKey: undefined, signingKeyPair: keyFiles };
  }
}
