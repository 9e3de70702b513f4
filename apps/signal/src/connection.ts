import { type Duplex } from 'node:stream';

import { type Logger } from '@switchboard/observability';

import { encodeFrame, FrameDecoder, FrameTooLargeError } from '@switchboard/protocol';
import { type PeerEndpoint } from './transport/client-address';

/** Which listener accepted the connection; handlers differ per port (RUSTDESK.md §0). */
export type Listener = 'tcp' | 'nat-test' | 'ws';

export type CloseReason =
  | 'timeout'
  | 'frame-too-large'
  | 'stream-error'
  | 'peer-closed'
  | 'handled'
  | 'unhandled-message'
  | 'handler-error'
  | 'shutdown';

export interface ConnectionLimits {
  /** Largest frame accepted; a bigger announced length closes the connection unread. */
  readonly maxFrameBytes: number;
  /** A frame must arrive within this long of the accept or of the previous frame. */
  readonly messageTimeoutMs: number;
}

export interface ConnectionHooks {
  /** Called once per complete frame; a rejection closes the connection as 'handler-error'. */
  frame(connection: SignalConnection, frame: Buffer): Promise<void>;
  closed(connection: SignalConnection, reason: CloseReason): void;
}

/**
 * One TCP or WebSocket client, reduced to frames in and frames out. Nothing thrown by the stream,
 * the decoder or a handler escapes: each ends this connection only, logged with its address.
 */
export class SignalConnection {
  readonly logger: Logger;
  private readonly decoder: FrameDecoder;
  private timer: NodeJS.Timeout | undefined;
  private closeReason: CloseReason | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly stream: Duplex,
    readonly listener: Listener,
    readonly remote: PeerEndpoint,
    private readonly limits: ConnectionLimits,
    private readonly hooks: ConnectionHooks,
    logger: Logger,
  ) {
    this.logger = logger.child({ listener, remote: `${remote.address}:${remote.port}` });
    this.decoder = new FrameDecoder(limits.maxFrameBytes);
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  start(): void {
    this.armTimer();
    this.stream.on('data', (chunk: Buffer) => this.receive(chunk));
    // A client may send its request and half-close at once: answer what it sent, then close.
    this.stream.on('end', () => void this.queue.then(() => this.close('peer-closed')));
    this.stream.on('error', (error) => {
      this.logger.debug({ err: error }, 'connection error');
      this.destroy('stream-error');
    });
    this.stream.on('close', () => this.finish('peer-closed'));
  }

  send(payload: Uint8Array): void {
    if (!this.closed) this.stream.write(encodeFrame(payload));
  }

  /** Flushes what was sent, then closes. */
  close(reason: CloseReason): void {
    if (this.closed) return;
    this.finish(reason);
    this.stream.end(() => this.stream.destroy());
  }

  /** Drops the connection at once, unsent output included. */
  destroy(reason: CloseReason): void {
    this.finish(reason);
    this.stream.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      if (error instanceof FrameTooLargeError) {
        this.logger.warn({ length: error.length, limit: error.limit }, 'frame too large, closing');
        this.destroy('frame-too-large');
      } else {
        this.logger.error({ err: error }, 'undecodable input, closing');
        this.destroy('stream-error');
      }
      return;
    }
    for (const frame of frames) {
      this.armTimer();
      // One frame at a time, in order: later handlers depend on it (KeyExchange, then the
      // secretbox counters of RUSTDESK.md §4).
      this.queue = this.queue
        .then(() => (this.closed ? undefined : this.hooks.frame(this, frame)))
        .catch((error: unknown) => {
          this.logger.error({ err: error }, 'message handler failed, closing');
          this.destroy('handler-error');
        });
    }
  }

  private armTimer(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.logger.debug({ timeoutMs: this.limits.messageTimeoutMs }, 'no message in time, closing');
      this.destroy('timeout');
    }, this.limits.messageTimeoutMs);
  }

  private finish(reason: CloseReason): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    clearTimeout(this.timer);
    this.hooks.closed(this, reason);
  }
}
