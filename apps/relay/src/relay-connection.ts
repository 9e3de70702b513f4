import { type Duplex } from 'node:stream';

import { type Logger } from '@switchboard/observability';
import { decodeFrame, FrameTooLargeError } from '@switchboard/protocol';
import { type PeerEndpoint } from '@switchboard/transport';

import { type ChunkReader } from './transport/chunk-reader';

export type Transport = 'tcp' | 'ws';

export type CloseReason =
  /** No RequestRelay within the first-frame timeout. */
  | 'timeout'
  | 'frame-too-large'
  /** Refused by policy or validation (the refusal reason is counted separately). */
  | 'refused'
  | 'unpaired-timeout'
  /** Neither side of the pair sent anything within the idle timeout. */
  | 'idle'
  /** The session carries a device that is banned, revoked or deleted. */
  | 'denied'
  /** Its IP was put on the blocklist during the session. */
  | 'blocklist'
  | 'partner-closed'
  | 'stream-error'
  | 'peer-closed'
  | 'shutdown';

/** Where a connection is in its life; the core moves it along. */
export type ConnectionPhase = 'awaiting-request' | 'admitting' | 'waiting' | 'paired';

export interface RelayConnectionLimits {
  /** The first frame (RequestRelay) must arrive within this long of the accept. */
  readonly firstFrameTimeoutMs: number;
  /** Largest first frame accepted; RequestRelay is a few hundred bytes. */
  readonly maxFirstFrameBytes: number;
  /** A graceful close waits this long for buffered bytes to reach a slow reader, then cuts. */
  readonly closeGraceMs: number;
}

export interface RelayConnectionHooks {
  /**
   * The first frame, and the bytes that followed it in the same reads: B sends its SignedId right
   * after RequestRelay, and those bytes must reach A untouched once paired (docs/protocol.md §6).
   */
  firstFrame(connection: RelayConnection, frame: Buffer, rest: Buffer): void;
  closed(connection: RelayConnection, reason: CloseReason): void;
}

/**
 * One relay client for its whole life. Only the first frame is ever decoded: after it the stream is
 * paused until the core pairs it, and from then on the relay is a dumb pipe (pipe.ts). Nothing thrown
 * here escapes; a failure ends this connection only.
 */
export class RelayConnection {
  readonly logger: Logger;
  phase: ConnectionPhase = 'awaiting-request';
  private received: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | undefined;
  private closeReason: CloseReason | undefined;

  constructor(
    readonly stream: Duplex,
    /** How `stream` is read (pipe.ts reads it too once paired). */
    readonly reader: ChunkReader,
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
    this.reader.setHandler(this.onData);
    this.reader.resume();
    this.stream.on('end', () => this.destroy('peer-closed'));
    this.stream.on('error', (error) => {
      this.logger.debug({ err: error }, 'connection error');
      this.destroy('stream-error');
    });
    this.stream.on('close', () => this.finish('peer-closed'));
  }

  /** Sends what is already buffered, then closes; a reader that will not take it is cut after the grace. */
  close(reason: CloseReason): void {
    if (this.closed) return;
    this.finish(reason);
    const cut = setTimeout(() => this.stream.destroy(), this.limits.closeGraceMs);
    this.stream.end(() => {
      clearTimeout(cut);
      this.stream.destroy();
    });
  }

  destroy(reason: CloseReason): void {
    this.finish(reason);
    this.stream.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed) return;
    // A copy: the reader may read into this chunk's memory again (tcp-chunk-reader.ts).
    this.received = Buffer.concat([this.received, chunk]);
    let decoded: ReturnType<typeof decodeFrame>;
    try {
      decoded = decodeFrame(this.received, this.limits.maxFirstFrameBytes);
    } catch (error) {
      if (error instanceof FrameTooLargeError) {
        this.logger.info({ length: error.length, limit: error.limit }, 'first frame too large, closing');
        this.destroy('frame-too-large');
      } else {
        this.logger.error({ err: error }, 'undecodable input, closing');
        this.destroy('stream-error');
      }
      return;
    }
    if (decoded === undefined) return;
    clearTimeout(this.timer);
    // Stop reading until paired; what follows the frame is handed over, not parsed.
    this.reader.pause();
    this.reader.setHandler(undefined);
    const rest = Buffer.from(this.received.subarray(decoded.size));
    this.received = Buffer.alloc(0);
    this.phase = 'admitting';
    this.hooks.firstFrame(this, Buffer.from(decoded.frame), rest);
  };

  private finish(reason: CloseReason): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    clearTimeout(this.timer);
    this.hooks.closed(this, reason);
  }
}
