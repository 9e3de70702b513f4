import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  encodePublicKeyFile,
  encodeSecretKeyFile,
  generateIdentityKeyPair,
  type IdentityKeyPair,
  KeyFileError,
  parsePublicKeyFile,
  parseSecretKeyFile,
  resolveKeyOption,
  serverKeyFor,
  type ServerKey,
  signalNeedsKeyFiles,
} from '@switchboard/crypto';
import { type Logger } from '@switchboard/observability';

// hbbs's file names (rustdesk-server src/common.rs gen_sk), so an existing hbbs key directory can be reused.
export const SECRET_KEY_FILE = 'id_ed25519';
export const PUBLIC_KEY_FILE = 'id_ed25519.pub';

/** The key files cannot be used; the message says which file and what to do, never the key. */
export class KeyStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyStoreError';
  }
}

/**
 * The signing identity on disk: loads `id_ed25519`/`id_ed25519.pub` from the key directory or creates
 * them on first start. Never overwrites a file: clients have pinned its public key.
 */
export class KeyStore {
  readonly secretKeyPath: string;
  readonly publicKeyPath: string;

  constructor(
    readonly directory: string,
    private readonly logger: Logger,
    private readonly generate: () => IdentityKeyPair = () => generateIdentityKeyPair(),
  ) {
    this.secretKeyPath = join(directory, SECRET_KEY_FILE);
    this.publicKeyPath = join(directory, PUBLIC_KEY_FILE);
  }

  async loadOrCreate(): Promise<IdentityKeyPair> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const existing = await readOptional(this.secretKeyPath);
    if (existing !== undefined) return this.useExisting(existing);
    if ((await readOptional(this.publicKeyPath)) !== undefined) {
      throw new KeyStoreError(
        `${this.publicKeyPath} exists but ${this.secretKeyPath} does not. Restore the secret key ` +
          '(clients trust that public key), or delete the .pub to start over with a new key.',
      );
    }
    const pair = this.generate();
    if (!(await createExclusive(this.secretKeyPath, encodeSecretKeyFile(pair.secretKey), 0o600))) {
      // Another process (a second replica, `keys` run by a start script) created it first: use theirs.
      return this.useExisting(await readFile(this.secretKeyPath, 'utf8'));
    }
    await this.ensurePublicKeyFile(pair);
    this.logger.info(
      { directory: this.directory, publicKey: encodePublicKeyFile(pair.publicKey) },
      'created key pair',
    );
    return pair;
  }

  private async useExisting(secretKeyText: string): Promise<IdentityKeyPair> {
    const pair = this.parse(this.secretKeyPath, () => parseSecretKeyFile(secretKeyText));
    await this.warnIfExposed();
    await this.ensurePublicKeyFile(pair);
    return pair;
  }

  private async ensurePublicKeyFile(pair: IdentityKeyPair): Promise<void> {
    const expected = encodePublicKeyFile(pair.publicKey);
    let text = await readOptional(this.publicKeyPath);
    if (text === undefined) {
      if (await createExclusive(this.publicKeyPath, expected, 0o644)) return;
      text = await readFile(this.publicKeyPath, 'utf8');
    }
    const found = this.parse(this.publicKeyPath, () => parsePublicKeyFile(text));
    if (encodePublicKeyFile(found) !== expected) {
      throw new KeyStoreError(
        `${this.publicKeyPath} does not match ${this.secretKeyPath}: the secret key's public key is ` +
          `${expected}. Fix or delete the .pub (it is recreated from the secret key).`,
      );
    }
  }

  private parse<T>(path: string, parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof KeyFileError)) throw error;
      throw new KeyStoreError(`${path} is unusable: ${error.message}`, { cause: error });
    }
  }

  private async warnIfExposed(): Promise<void> {
    const { mode } = await stat(this.secretKeyPath);
    if ((mode & 0o077) !== 0) {
      this.logger.warn(
        { path: this.secretKeyPath, mode: (mode & 0o777).toString(8) },
        'secret key is readable by other users; chmod 600 it',
      );
    }
  }
}

/**
 * The server key for the KEY setting (hbbs `-k`): loads or creates the key files only when the
 * setting calls for them.
 */
export async function loadServerKey(keyValue: string, store: KeyStore): Promise<ServerKey> {
  let option;
  try {
    option = resolveKeyOption(keyValue);
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
    throw new KeyStoreError(`KEY is unusable: ${error.message}`, { cause: error });
  }
  const keyFiles = signalNeedsKeyFiles(option) ? await store.loadOrCreate() : undefined;
  return serverKeyFor(option, keyFiles);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes a complete file under a temporary name, then hard-links it into place: the link fails if the
 * name exists, so nothing is overwritten and no reader ever sees a half-written key.
 */
async function createExclusive(path: string, content: string, mode: number): Promise<boolean> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, content, { mode, flag: 'wx' });
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary);
  }
}
