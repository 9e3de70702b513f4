import nacl from 'tweetnacl';

import { asBuffer } from './bytes';

// The per-frame encryption of a secured TCP link (docs/protocol.md §4 step 4; hbb_common src/tcp.rs
// Encrypt): secretbox under a 24-byte nonce whose first 8 bytes are a u64 LE frame counter.

export const SYMMETRIC_KEY_BYTES = nacl.secretbox.keyLength;

export type OpenResult =
  | { readonly ok: true; readonly plain: Buffer }
  | { readonly ok: false; readonly error: { readonly kind: 'decrypt-failed'; readonly counter: number } };

/**
 * One direction's counter each, both starting at 0 and incremented before use, so the first frame
 * is sealed under nonce 1. Frames of at most one byte pass through untouched and leave the counters
 * alone: that is how the empty heartbeat stays plaintext on both ends.
 */
export class FrameCipher {
  private readonly key: Uint8Array;
  private readonly sendNonce = new Uint8Array(nacl.secretbox.nonceLength);
  private readonly receiveNonce = new Uint8Array(nacl.secretbox.nonceLength);
  private sent = 0;
  private received = 0;

  constructor(key: Uint8Array) {
    if (key.length !== SYMMETRIC_KEY_BYTES) {
      throw new RangeError(`symmetric key must be ${SYMMETRIC_KEY_BYTES} bytes (got ${key.length})`);
    }
    this.key = Uint8Array.from(key);
  }

  seal(plain: Uint8Array): Buffer {
    if (plain.length <= 1) return asBuffer(plain);
    this.sent += 1;
    writeCounter(this.sendNonce, this.sent);
    return asBuffer(nacl.secretbox(plain, this.sendNonce, this.key));
  }

  /** A failure means the link is corrupt or forged: close it (the counter has moved on, as upstream's). */
  open(frame: Uint8Array): OpenResult {
    if (frame.length <= 1) return { ok: true, plain: asBuffer(frame) };
    this.received += 1;
    writeCounter(this.receiveNonce, this.received);
    const plain = nacl.secretbox.open(frame, this.receiveNonce, this.key);
    return plain === null
      ? { ok: false, error: { kind: 'decrypt-failed', counter: this.received } }
      : { ok: true, plain: asBuffer(plain) };
  }

  /** Frames sealed so far, i.e. the counter of the last one. */
  get sealedFrames(): number {
    return this.sent;
  }

  /** Frames opened (or attempted) so far. */
  get openedFrames(): number {
    return this.received;
  }
}

/** The nonce for frame `counter`: u64 LE in bytes 0–7, zeros after. */
export function frameNonce(counter: number): Uint8Array {
  const nonce = new Uint8Array(nacl.secretbox.nonceLength);
  writeCounter(nonce, counter);
  return nonce;
}

function writeCounter(nonce: Uint8Array, counter: number): void {
  const view = new DataView(nonce.buffer, nonce.byteOffset, 8);
  view.setUint32(0, counter >>> 0, true);
  view.setUint32(4, Math.floor(counter / 0x1_0000_0000), true);
}
