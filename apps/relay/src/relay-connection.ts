import { type Duplex } from 'node:stream';

import { type Logger } from '@switchboard/observability';

import { decodeFrame, FrameTooLargeError } from '@switchboard/protocol';
import { type PeerEndpoint } from './transport/peer-endpoint';

export type Transport = 'tcp' | 'ws';

export type CloseReason =
  'timeout' | 'frame-too-large' | 'stream-error' | 'peer-closed' | 'unpaired' | 'shutdown';

export interface RelayConnectionLimits {
  /** The first frame (RequestRelay) must arrive within this long of the accept. */
  readonly firstFrameTimeoutMs: number;
  /** Largest first frame accepted; RequestRelay is a few hundred bytes. */
  readonly maxFirstFrameBytes: number;
}

export interface RelayConnectionHooks {
  /**
   * The first frame, and the bytes that followed it in the same reads: B sends its SignedId right
   * after RequestRelay, and those bytes must reach A untouched once paired (RUSTDESK.md §6).
   */
  firstFrame(connection: RelayConnection, frame: Buffer, rest: Buffer): void;
  closed(connection: RelayConnection, reason: CloseReason): void;
}

/**
 * A relay client from accept until pairing. Only the first frame is ever decoded: after pairing the
 * relay is a dumb pipe. Nothing thrown here escapes; a failure ends this connection only.
 */
export class RelayConnection {
  readonly logger: Logger;
  private received: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | undefined;
  private closeReason: CloseReason | undefined;
  private gotFirstFrame = false;

  constructor(
    readonly stream: Duplex,
    readonly transport: Transport,
    readonly remote: PeerEndpoint,
    private readonly limits: RelayConnectionLimits,
    private readonly hooks: RelayConnectionHooks,
    logger: Logger,
  ) {
    this.logger = logger.child({ transport, remote: `${remote.address}:${remote.port}` });
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  start(): void {
    this.timer = setTimeout(() => {
      this.logger.debug({ timeoutMs: this.limits.firstFrameTimeoutMs }, 'no RequestRelay in time, closing');
      this.destroy('timeout');
    }, this.limits.firstFrameTimeoutMs);
    this.stream.on('data', this.onData);
    this.stream.on('end', () => this.destroy('peer-closed'));
    this.stream.on('error', (error) => {
      this.logger.debug({ err: error }, 'connection error');
      this.destroy('stream-error');
    });
    this.stream.on('close', () => this.finish('peer-closed'));
  }

  close(reason: CloseReason): void {
    if (this.closed) return;
    this.finish(reason);
    this.stream.end(() => this.stream.destroy());
  }

  destroy(reason: CloseReason): void {
    this.finish(reason);
    this.stream.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed || this.gotFirstFrame) return;
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    let decoded: ReturnType<typeof decodeFrame>;
    try {
      decoded = decodeFrame(this.received, this.limits.maxFirstFrameBytes);
    } catch (error) {
      if (error instanceof FrameTooLargeError) {
        this.logger.warn({ length: error.length, limit: error.limit }, 'first frame too large, closing');
        this.destroy('frame-too-large');
      } else {
        this.logger.error({ err: error }, 'undecodable input, closing');
        this.destroy('stream-error');
      }
      return;
    }
    if (decoded === undefined) return;
    this.gotFirstFrame = true;
    clearTimeout(this.timer);
    // Stop reading until paired; what follows the frame is handed over, not parsed.
    this.stream.off('data', this.onData);
    this.stream.pause();
    const rest = Buffer.from(this.received.subarray(decoded.size));
    this.received = Buffer.alloc(0);
    this.hooks.firstFrame(this, Buffer.from(decoded.frame), rest);
  };

  private finish(reason: CloseReason): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    clearTimeout(this.timer);
    this.hooks.closed(this, reason);
  }
}
