import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { EventSigningKey, EventVerifyKey } from './event-signing';

// The event keys on disk, for a one-machine start and docker-compose: the api's signing key in its
// key directory (mode 0600, created once, never replaced) and the public half where signal and the
// relays read it. Kubernetes passes both through the environment instead (EVENTS_SIGNING_KEY,
// EVENTS_PUBLIC_KEY) and never touches these files.

export const EVENT_SIGNING_KEY_FILE = 'events_ed25519';
export const EVENT_PUBLIC_KEY_FILE = 'events_ed25519.pub';

export class EventKeyFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventKeyFileError';
  }
}

/** Reads the signing key, creating it first when the file does not exist yet. */
export async function loadOrCreateEventSigningKey(
  path: string,
): Promise<{ key: EventSigningKey; created: boolean }> {
  const existing = await readKeyText(path);
  if (existing !== undefined)
    return { key: parseKey(path, existing, (text) => EventSigningKey.fromBase64(text)), created: false };
  const created = await createIfAbsent(path, `${EventSigningKey.generate().toBase64()}\n`);
  const text = await readKeyText(path);
  if (text === undefined) throw new EventKeyFileError(`${path} vanished right after it was created`);
  return { key: parseKey(path, text, (value) => EventSigningKey.fromBase64(value)), created };
}

/** Writes the public half (replacing a stale one: it is derived, not a secret). True when it changed. */
export async function writeEventVerifyKey(path: string, key: EventVerifyKey): Promise<boolean> {
  const text = `${key.toBase64()}\n`;
  if ((await readKeyText(path)) === text) return false;
  const tempPath = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tempPath, text, { mode: 0o644, flush: true });
    await rename(tempPath, path);
    return true;
  } catch (error) {
    throw new EventKeyFileError(`Cannot write ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(tempPath, { force: true });
  }
}

export async function readEventVerifyKey(path: string): Promise<EventVerifyKey> {
  const text = await readKeyText(path);
  if (text === undefined) {
    throw new EventKeyFileError(
      `${path} does not exist: run the api's bootstrap first, or set EVENTS_PUBLIC_KEY`,
    );
  }
  return parseKey(path, text, (value) => EventVerifyKey.fromBase64(value));
}

export interface EventVerifyKeySettings {
  readonly EVENTS_PUBLIC_KEY?: string | undefined;
  readonly EVENTS_PUBLIC_KEY_FILE?: string | undefined;
  readonly KEY_DIR: string;
}

/** A subscriber's key: EVENTS_PUBLIC_KEY, else the file (EVENTS_PUBLIC_KEY_FILE, default KEY_DIR's). */
export async function resolveEventVerifyKey(
  settings: EventVerifyKeySettings,
): Promise<{ key: EventVerifyKey; source: string }> {
  if (settings.EVENTS_PUBLIC_KEY !== undefined) {
    return { key: EventVerifyKey.fromBase64(settings.EVENTS_PUBLIC_KEY), source: 'EVENTS_PUBLIC_KEY' };
  }
  const path = eventPublicKeyPath(settings);
  return { key: await readEventVerifyKey(path), source: path };
}

export function eventPublicKeyPath(settings: Omit<EventVerifyKeySettings, 'EVENTS_PUBLIC_KEY'>): string {
  return settings.EVENTS_PUBLIC_KEY_FILE ?? join(settings.KEY_DIR, EVENT_PUBLIC_KEY_FILE);
}

async function readKeyText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EventKeyFileError(`Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function parseKey<T>(path: string, text: string, parse: (text: string) => T): T {
  try {
    return parse(text);
  } catch (error) {
    throw new EventKeyFileError(`${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Private temp file hard-linked into place, so two starts never both write nor see half a key. */
async function createIfAbsent(path: string, text: string): Promise<boolean> {
  const tempPath = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(tempPath, text, { flag: 'wx', mode: 0o600, flush: true });
    await link(tempPath, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new EventKeyFileError(`Cannot create ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(tempPath, { force: true });
  }
}
