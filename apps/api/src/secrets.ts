import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import {
  type AuditKeyring,
  createAuditKeyring,
  formatAuditKeyring,
  parseAuditKeyring,
} from '@switchboard/audit';
import { ConfigError, parseConfig, z } from '@switchboard/config';
import { EVENT_SIGNING_KEY_FILE, EventSigningKey, loadOrCreateEventSigningKey } from '@switchboard/events';

import { DATA_ENCRYPTION_KEY_BYTES, SECRETS_FILE_NAME, secretFields } from './config';
import { type DataKeyring, formatNewDataKeyring, parseDataKeyring } from './data-keyring';
import { cryptoRandom } from './random/random-source';

/**
 * Where the api's secrets come from, in one place. Each secret is taken from the environment when set
 * (production: env or Kubernetes secrets); otherwise from `${KEY_DIR}/api-secrets.json`, which is
 * generated on first use (mode 0600) and never overwritten, so a one-machine start needs no setup.
 */

export interface ApiSecrets {
  /** Signs bearer tokens (@nestjs/jwt). */
  readonly jwtSecret: string;
  /** HMAC keys of the audit chain; the current one signs new entries. */
  readonly auditKeyring: AuditKeyring;
  /** Seals TOTP secrets at rest and keys recovery-code HMACs; the current one makes new values. */
  readonly dataKeyring: DataKeyring;
}

export type SecretName = keyof typeof secretFields;
export type SecretSources = Readonly<Partial<Record<SecretName, string>>>;
export type SecretOrigin = 'env' | 'file';

export interface ResolvedSecrets {
  secrets: ApiSecrets;
  origin: Readonly<Record<SecretName, SecretOrigin>>;
  /** True when this call wrote the secrets file. */
  fileCreated: boolean;
  /** The file, when it was read or written. */
  filePath?: string;
}

/** The secrets file cannot be used: unreadable, malformed, or created by someone else half-way. */
export class SecretsFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretsFileError';
  }
}

const SECRET_NAMES = Object.keys(secretFields) as SecretName[];
const storedSecretsSchema = z.object(secretFields);
type StoredSecrets = z.output<typeof storedSecretsSchema>;

export function secretsFilePath(keyDir: string): string {
  return join(keyDir, SECRETS_FILE_NAME);
}

/** Fresh random values for every secret, in the text form the env and the file use. */
export function generateSecrets(
  random: (size: number) => Buffer = (size) => cryptoRandom.bytes(size),
): StoredSecrets {
  return {
    JWT_SECRET: random(48).toString('base64url'),
    AUDIT_HMAC_KEYS: formatAuditKeyring(createAuditKeyring([{ keyId: 'k1', key: random(32) }])),
    DATA_ENCRYPTION_KEY: formatNewDataKeyring(random(DATA_ENCRYPTION_KEY_BYTES)),
  };
}

/** The file's only I/O: read it, or create it without ever replacing an existing one. */
export class SecretsFile {
  constructor(readonly path: string) {}

  async read(): Promise<StoredSecrets | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SecretsFileError(`Cannot read ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    const mode = (await stat(this.path)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new SecretsFileError(
        `${this.path} is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new SecretsFileError(`${this.path} is not valid JSON`, { cause: error });
    }
    if (!isStringRecord(json)) {
      throw new SecretsFileError(
        `${this.path} must hold one JSON object of strings (${SECRET_NAMES.join(', ')})`,
      );
    }
    try {
      return parseConfig(storedSecretsSchema, json);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new SecretsFileError(`${this.path} is invalid: ${error.problems.join('; ')}`, { cause: error });
    }
  }

  /**
   * Writes a private temp file then hard-links it into place: link() fails if the target exists, so a
   * concurrent bootstrap and api start can never both win nor see a half-written file.
   * Returns false (and writes nothing) when the file already exists.
   */
  async createIfAbsent(secrets: StoredSecrets): Promise<boolean> {
    const tempPath = `${this.path}.${process.pid}.${cryptoRandom.bytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      // O_EXCL with 0600: the secrets are never readable by anyone else, not even for a moment.
      await writeFile(tempPath, `${JSON.stringify(secrets, null, 2)}\n`, {
        flag: 'wx',
        mode: 0o600,
        flush: true,
      });
      await link(tempPath, this.path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new SecretsFileError(`Cannot create ${this.path}: ${(error as Error).message}`, { cause: error });
    } finally {
      await rm(tempPath, { force: true });
    }
  }
}

/**
 * Takes each secret from `env` when present, else from the file (created with fresh values when
 * absent). When the environment provides all of them the file is never touched.
 */
export async function resolveApiSecrets(
  env: SecretSources,
  file: SecretsFile,
  generate: () => StoredSecrets = generateSecrets,
): Promise<ResolvedSecrets> {
  const origin = Object.fromEntries(
    SECRET_NAMES.map((name) => [name, env[name] !== undefined ? 'env' : 'file']),
  ) as Record<SecretName, SecretOrigin>;
  if (SECRET_NAMES.every((name) => origin[name] === 'env')) {
    return { secrets: decodeSecrets(env as StoredSecrets), origin, fileCreated: false };
  }

  let stored = await file.read();
  let fileCreated = false;
  if (stored === undefined) {
    fileCreated = await file.createIfAbsent(generate());
    stored = await file.read();
    if (stored === undefined) throw new SecretsFileError(`${file.path} vanished right after it was created`);
  }
  const merged = Object.fromEntries(SECRET_NAMES.map((name) => [name, env[name] ?? stored[name]]));
  return { secrets: decodeSecrets(merged as StoredSecrets), origin, fileCreated, filePath: file.path };
}

export interface ResolvedEventSigningKey {
  key: EventSigningKey;
  origin: SecretOrigin;
  /** The key file, when it was read or written. */
  filePath?: string;
  fileCreated: boolean;
}

/** EVENTS_SIGNING_KEY when set, else `${KEY_DIR}/events_ed25519` (created on first use, mode 0600). */
export async function resolveEventSigningKey(settings: {
  readonly EVENTS_SIGNING_KEY?: string | undefined;
  readonly KEY_DIR: string;
}): Promise<ResolvedEventSigningKey> {
  if (settings.EVENTS_SIGNING_KEY !== undefined) {
    return {
      key: EventSigningKey.fromBase64(settings.EVENTS_SIGNING_KEY),
      origin: 'env',
      fileCreated: false,
    };
  }
  const filePath = join(settings.KEY_DIR, EVENT_SIGNING_KEY_FILE);
  const { key, created } = await loadOrCreateEventSigningKey(filePath);
  return { key, origin: 'file', filePath, fileCreated: created };
}

function decodeSecrets(text: StoredSecrets): ApiSecrets {
  return {
    jwtSecret: text.JWT_SECRET,
    auditKeyring: parseAuditKeyring(text.AUDIT_HMAC_KEYS),
    dataKeyring: parseDataKeyring(text.DATA_ENCRYPTION_KEY),
  };
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === 'string')
  );
}
