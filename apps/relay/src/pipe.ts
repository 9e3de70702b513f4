import { Socket } from 'node:net';
import { type Duplex } from 'node:stream';

import { type ByteBudget } from './bandwidth';
import { type ChunkReader } from './transport/chunk-reader';

/**
 * One direction of a paired session: every chunk read from `source` is written to `sink` as is (no
 * parsing), with two reasons to stop reading: the sink cannot take more (backpressure: a slow reader
 * slows the writer) or the bandwidth budget is overdrawn (pause until it is paid back).
 *
 * TCP to TCP, nothing is copied or queued: the chunk is a view of the source's read buffer, so
 * reading stops whenever the kernel did not take all of it, until the sink has flushed it. Anything
 * else goes through the sink's stream buffer (its highWaterMark) and 'drain'.
 */
export class RelayPipe {
  /** Bytes relayed so far, including the ones buffered before pairing. */
  bytes = 0;
  private waitingForSink = false;
  private throttle: NodeJS.Timeout | undefined;
  private running = false;
  /** The source reuses its read buffer and the sink is a socket whose queue we can watch. */
  private readonly zeroCopy: boolean;

  constructor(
    private readonly source: ChunkReader,
    private readonly sink: Duplex,
    private readonly budget: ByteBudget,
  ) {
    this.zeroCopy = source.reusesBuffer && sink instanceof Socket;
  }

  /** `buffered`: what the source sent after its RequestRelay, before the pair existed. */
  start(buffered: Buffer): void {
    this.running = true;
    if (!this.zeroCopy) this.sink.on('drain', this.onSinkReady);
    if (buffered.length > 0) this.relay(buffered, false);
    this.source.setHandler(this.onChunk);
    this.resumeIfFree();
  }

  stop(): void {
    this.running = false;
    this.source.setHandler(undefined);
    this.sink.off('drain', this.onSinkReady);
    clearTimeout(this.throttle);
    this.throttle = undefined;
  }

  private readonly onChunk = (chunk: Buffer): void => {
    this.relay(chunk, this.source.reusesBuffer);
  };

  private relay(chunk: Buffer, borrowed: boolean): void {
    this.bytes += chunk.length;
    if (this.zeroCopy) {
      this.sink.write(chunk, this.onFlushed);
      // Still queued: the next read would overwrite what the kernel has not taken yet.
      if (this.sink.writableLength > 0) this.hold();
    } else if (!this.sink.write(borrowed ? Buffer.from(chunk) : chunk)) {
      this.hold();
    }
    const waitMs = this.budget.consume(chunk.length);
    if (waitMs > 0) {
      this.source.pause();
      clearTimeout(this.throttle);
      this.throttle = setTimeout(this.onThrottleOver, Math.ceil(waitMs));
    }
  }

  private hold(): void {
    this.waitingForSink = true;
    this.source.pause();
  }

  /** Zero-copy: called after each write has reached the kernel (or failed). */
  private readonly onFlushed = (): void => {
    if (this.waitingForSink && this.sink.writableLength === 0) this.onSinkReady();
  };

  private readonly onSinkReady = (): void => {
    this.waitingForSink = false;
    this.resumeIfFree();
  };

  private readonly onThrottleOver = (): void => {
    this.throttle = undefined;
    this.resumeIfFree();
  };

  private resumeIfFree(): void {
    if (this.running && !this.waitingForSink && this.throttle === undefined) this.source.resume();
  }
}
