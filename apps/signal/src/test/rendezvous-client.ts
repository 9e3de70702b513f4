import { type Duplex } from 'node:stream';

import { answerServerKeyExchange, type FrameCipher } from '@switchboard/crypto';
import {
  decodeRendezvous,
  encodeFrame,
  encodeRendezvous,
  FrameDecoder,
  type RendezvousCase,
  type RendezvousOf,
  type RendezvousPayload,
} from '@switchboard/protocol';

// The client end of one rendezvous connection for tests: frames and messages in and out over any
// duplex (an in-memory pair, a TCP socket, a WebSocketDuplex around a ws client), with the client
// half of secure TCP done the way RustDesk's secure_tcp does it.

export class FramedClient {
  private readonly decoder = new FrameDecoder(1 << 20);
  private readonly frames: Buffer[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private cipher: FrameCipher | undefined;
  readonly closed: Promise<void>;

  constructor(readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      this.frames.push(...this.decoder.push(chunk));
      this.wake?.();
    });
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.ended = true;
        this.wake?.();
        resolve();
      };
      stream.once('end', done);
      stream.once('close', done);
    });
    stream.on('error', () => undefined);
  }

  sendRaw(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  /** One frame, sealed when the link is secured. */
  sendFrame(payload: Uint8Array): void {
    this.stream.write(encodeFrame(this.cipher ? this.cipher.seal(payload) : payload));
  }

  send(message: RendezvousPayload): void {
    this.sendFrame(encodeRendezvous(message));
  }

  sendHeartbeat(): void {
    this.stream.write(encodeFrame(Buffer.alloc(0)));
  }

  /** The next frame (opened on a secured link), heartbeats included. */
  async nextFrame(timeoutMs = 2_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) {
        if (!this.cipher) return frame;
        const opened = this.cipher.open(frame);
        if (!opened.ok) throw new Error('frame from the server failed to decrypt');
        return opened.plain;
      }
      if (this.ended) throw new Error('connection closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** The next message, skipping heartbeats. */
  async next(timeoutMs = 2_000): Promise<RendezvousPayload> {
    for (;;) {
      const frame = await this.nextFrame(timeoutMs);
      if (frame.length === 0) continue;
      const decoded = decodeRendezvous(frame);
      if (!decoded.ok) throw new Error(`undecodable frame from the server: ${decoded.error.kind}`);
      return decoded.payload;
    }
  }

  /** The next message, which must be of `kind`; a leading KeyExchange is skipped as the client does. */
  async expect<C extends RendezvousCase>(kind: C, timeoutMs = 2_000): Promise<RendezvousOf<C>['value']> {
    let message = await this.next(timeoutMs);
    if (message.$case === 'keyExchange' && kind !== 'keyExchange') message = await this.next(timeoutMs);
    if (message.$case !== kind) throw new Error(`expected ${kind}, got ${message.$case}`);
    return message.value as RendezvousOf<C>['value'];
  }

  /** Resolves true if nothing but heartbeats arrives within `ms`. */
  async quietFor(ms: number): Promise<boolean> {
    try {
      for (;;) {
        const frame = await this.nextFrame(ms);
        if (frame.length > 0) return false;
      }
    } catch {
      return true;
    }
  }

  /**
   * RustDesk's secure_tcp: the server's signed box key must verify under `serverPublicKey`; answer
   * with our box key and a sealed symmetric key, then seal everything. Returns the 96-byte signed key.
   */
  async secure(serverPublicKey: Uint8Array): Promise<Buffer> {
    const offer = await this.expect('keyExchange');
    const answer = answerServerKeyExchange(offer.keys, serverPublicKey);
    if (!answer.ok) throw new Error(`key exchange failed: ${answer.error.kind}`);
    this.send({ $case: 'keyExchange', value: { keys: [...answer.keys] } });
    this.cipher = answer.cipher;
    return offer.keys[0] as Buffer;
  }

  end(): void {
    this.stream.end();
  }

  destroy(): void {
    this.stream.destroy();
  }
}
