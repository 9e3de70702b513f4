import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { z } from 'zod';

// Relay node records are MACed with a key signal and the relays share (RELAY_REGISTRY_KEY), so a
// record written into Redis by anyone else (a Redis writer, another service's credentials) is not
// handed to clients. It cannot tell one relay from another: a relay that holds the key could
// announce any address, which is no more than a compromised relay can do with its own sessions
// (docs/architecture.md "Redis: events, tickets and relay records").

export const RELAY_REGISTRY_KEY_FILE = 'relay_registry.key';
const MIN_KEY_BYTES = 32;

export class RelayRecordKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RelayRecordKeyError';
  }
}

export function isRelayRecordKeyText(text: string): boolean {
  const trimmed = text.trim();
  return /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) && Buffer.from(trimmed, 'base64').length >= MIN_KEY_BYTES;
}

/** The config field for RELAY_REGISTRY_KEY. */
export const relayRecordKeyField = z
  .string()
  .trim()
  .refine(
    isRelayRecordKeyText,
    `must be at least ${MIN_KEY_BYTES} bytes in base64 (openssl rand -base64 32)`,
  );

const sealedRecordSchema = z.object({ record: z.string(), mac: z.string().max(64) });

export class RelayRecordKey {
  private constructor(private readonly secret: Buffer) {}

  static generate(): RelayRecordKey {
    return new RelayRecordKey(randomBytes(MIN_KEY_BYTES));
  }

  static fromBase64(text: string): RelayRecordKey {
    if (!isRelayRecordKeyText(text)) {
      throw new RelayRecordKeyError(`relay registry key must be at least ${MIN_KEY_BYTES} bytes in base64`);
    }
    return new RelayRecordKey(Buffer.from(text.trim(), 'base64'));
  }

  toBase64(): string {
    return this.secret.toString('base64');
  }

  /** The value stored under `node:<nodeId>`: the record's JSON and its MAC, bound to the node id. */
  seal(nodeId: string, recordJson: string): string {
    return JSON.stringify({ record: recordJson, mac: this.mac(nodeId, recordJson).toString('base64') });
  }

  /** The record's JSON if its MAC holds for this node id, or why not. Never throws. */
  open(nodeId: string, value: string): { recordJson: string } | { problem: string } {
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      return { problem: 'record is not JSON' };
    }
    const parsed = sealedRecordSchema.safeParse(json);
    if (!parsed.success) return { problem: 'record carries no MAC' };
    const expected = this.mac(nodeId, parsed.data.record);
    const given = Buffer.from(parsed.data.mac, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { problem: 'record MAC does not match' };
    }
    return { recordJson: parsed.data.record };
  }

  private mac(nodeId: string, recordJson: string): Buffer {
    return createHmac('sha256', this.secret)
      .update(`switchboard-relay-node:v1\n${nodeId}\n${recordJson}`)
      .digest();
  }
}

export interface RelayRecordKeySettings {
  readonly RELAY_REGISTRY_KEY?: string | undefined;
  readonly RELAY_REGISTRY_KEY_FILE?: string | undefined;
  readonly KEY_DIR: string;
}

export function relayRecordKeyPath(settings: RelayRecordKeySettings): string {
  return settings.RELAY_REGISTRY_KEY_FILE ?? join(settings.KEY_DIR, RELAY_REGISTRY_KEY_FILE);
}

/** Signal's and a relay's key: RELAY_REGISTRY_KEY, else the file the api's bootstrap wrote. */
export async function resolveRelayRecordKey(
  settings: RelayRecordKeySettings,
): Promise<{ key: RelayRecordKey; source: string }> {
  if (settings.RELAY_REGISTRY_KEY !== undefined) {
    return { key: RelayRecordKey.fromBase64(settings.RELAY_REGISTRY_KEY), source: 'RELAY_REGISTRY_KEY' };
  }
  const path = relayRecordKeyPath(settings);
  const text = await readKeyText(path);
  if (text === undefined) {
    throw new RelayRecordKeyError(
      `${path} does not exist: run the api's bootstrap first, or set RELAY_REGISTRY_KEY`,
    );
  }
  return { key: parseKey(path, text), source: path };
}

/** The bootstrap's side: reads the key file, creating it (mode 0600, never replaced) when absent. */
export async function ensureRelayRecordKeyFile(path: string): Promise<{ created: boolean }> {
  const existing = await readKeyText(path);
  if (existing !== undefined) {
    parseKey(path, existing);
    return { created: false };
  }
  const tempPath = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(tempPath, `${RelayRecordKey.generate().toBase64()}\n`, { flag: 'wx', mode: 0o600 });
    // link() fails when the target exists: two bootstraps never both write, nor leave half a key.
    await link(tempPath, path);
    return { created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { created: false };
    throw new RelayRecordKeyError(`Cannot create ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(tempPath, { force: true });
  }
}

async function readKeyText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RelayRecordKeyError(`Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function parseKey(path: string, text: string): RelayRecordKey {
  try {
    return RelayRecordKey.fromBase64(text);
  } catch (error) {
    throw new RelayRecordKeyError(`${path}: ${(error as Error).message}`, { cause: error });
  }
}
