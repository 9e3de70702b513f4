import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

import { z } from 'zod';

// Events are signed with Ed25519 by the api, the only publisher; signal and relays hold the public
// key only, so a subscriber (or anyone else who can write to Redis) cannot forge an event it would
// accept (docs/architecture.md "Redis: events, tickets and relay records"). Keys travel as the base64 of
// their 32 raw bytes: the seed for the signing key, the public point for the verify key.

export const EVENT_KEY_BYTES = 32;

// DER headers that turn raw Ed25519 bytes into the PKCS#8 / SPKI forms node:crypto loads (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** What a signature commits to besides the envelope: the channel, so a frame cannot cross deployments. */
function signedBytes(channel: string, body: string): Buffer {
  return Buffer.from(`switchboard-event:v1\n${channel}\n${body}`, 'utf8');
}

/**
 * A statement the api vouches for outside the event bus (a client access token): its own prefix, so
 * no statement can pass for an event frame or the other way round.
 */
function statementBytes(context: string, body: string): Buffer {
  return Buffer.from(`switchboard-statement:v1\n${context}\n${body}`, 'utf8');
}

/** The key a subscriber checks frames with. */
export class EventVerifyKey {
  private constructor(
    private readonly key: KeyObject,
    private readonly raw: Buffer,
  ) {}

  static fromBase64(text: string): EventVerifyKey {
    const raw = decodeKeyBytes(text, 'event verify key');
    const key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, raw]),
      format: 'der',
      type: 'spki',
    });
    return new EventVerifyKey(key, raw);
  }

  toBase64(): string {
    return this.raw.toString('base64');
  }

  /** The envelope text of a frame whose signature holds, or why it is refused. Never throws. */
  open(channel: string, frame: string): { body: string } | { problem: string } {
    let json: unknown;
    try {
      json = JSON.parse(frame);
    } catch {
      return { problem: 'not JSON' };
    }
    const parsed = signedFrameSchema.safeParse(json);
    if (!parsed.success) return { problem: 'not a signed frame' };
    const signature = Buffer.from(parsed.data.sig, 'base64');
    if (signature.length !== 64) return { problem: 'signature is not 64 bytes' };
    const valid = verify(null, signedBytes(channel, parsed.data.body), this.key, signature);
    return valid ? { body: parsed.data.body } : { problem: 'bad signature' };
  }

  /** Whether `signature` is the api's signature of `body` as a statement of kind `context`. Never throws. */
  verifyStatement(context: string, body: string, signature: Uint8Array): boolean {
    if (signature.length !== 64) return false;
    return verify(null, statementBytes(context, body), this.key, signature);
  }
}

/** The api's key: signs every frame it publishes. */
export class EventSigningKey {
  readonly verifyKey: EventVerifyKey;

  private constructor(
    private readonly key: KeyObject,
    private readonly seed: Buffer,
  ) {
    const publicDer = createPublicKey(key).export({ format: 'der', type: 'spki' });
    this.verifyKey = EventVerifyKey.fromBase64(
      publicDer.subarray(SPKI_ED25519_PREFIX.length).toString('base64'),
    );
  }

  static generate(): EventSigningKey {
    const { privateKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    return new EventSigningKey(privateKey, der.subarray(PKCS8_ED25519_PREFIX.length));
  }

  static fromBase64(text: string): EventSigningKey {
    const seed = decodeKeyBytes(text, 'event signing key');
    const key = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
      format: 'der',
      type: 'pkcs8',
    });
    return new EventSigningKey(key, seed);
  }

  /** The seed in base64: what EVENTS_SIGNING_KEY and the key file hold. */
  toBase64(): string {
    return this.seed.toString('base64');
  }

  /** The frame that goes on the channel: the envelope text and its signature. */
  seal(channel: string, body: string): string {
    const sig = sign(null, signedBytes(channel, body), this.key).toString('base64');
    return JSON.stringify({ body, sig });
  }

  /** The detached signature of a statement of kind `context` (see verifyStatement). */
  signStatement(context: string, body: string): Buffer {
    return sign(null, statementBytes(context, body), this.key);
  }
}

const signedFrameSchema = z.object({ body: z.string(), sig: z.string().max(128) });

/** True for the base64 of exactly 32 bytes: the check config schemas share with the key classes. */
export function isEventKeyText(text: string): boolean {
  const trimmed = text.trim();
  return /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) && Buffer.from(trimmed, 'base64').length === EVENT_KEY_BYTES;
}

/** The config field for EVENTS_SIGNING_KEY / EVENTS_PUBLIC_KEY. */
export const eventKeyField = z
  .string()
  .trim()
  .refine(isEventKeyText, `must be ${EVENT_KEY_BYTES} bytes in base64`);

function decodeKeyBytes(text: string, what: string): Buffer {
  if (!isEventKeyText(text)) throw new Error(`${what} must be ${EVENT_KEY_BYTES} bytes in base64`);
  return Buffer.from(text.trim(), 'base64');
}
