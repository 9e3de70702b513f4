import { type Duplex } from 'node:stream';

import { type ByteBudget } from './bandwidth';
import { type ChunkReader } from './transport/chunk-reader';
import { chunkWriterFor } from './transport/choose-chunk-writer';
import { type ChunkWriter } from './transport/chunk-writer';

/**
 * One direction of a paired session: every chunk read from `source` is written to `sink` as is (no
 * parsing), with two reasons to stop reading: the sink cannot take more (backpressure: a slow reader
 * slows the writer) or the bandwidth budget is overdrawn (pause until it is paid back).
 *
 * TCP to TCP nothing is copied or queued: the chunk is a view of the source's read buffer, so reading
 * stops whenever the kernel did not take all of it, until the writer is done with it (chunk-writer.ts).
 */
export class RelayPipe {
  /** Bytes relayed so far, including the ones buffered before pairing. */
  bytes = 0;
  private waitingForSink = false;
  private throttle: NodeJS.Timeout | undefined;
  private running = false;
  private readonly writer: ChunkWriter;

  constructor(
    private readonly source: ChunkReader,
    sink: Duplex,
    private readonly budget: ByteBudget,
  ) {
    this.writer = chunkWriterFor(sink, source.reusesBuffer);
  }

  /** `buffered`: what the source sent after its RequestRelay, before the pair existed. */
  start(buffered: Buffer): void {
    this.running = true;
    this.writer.setReadyHandler(this.onSinkReady);
    if (buffered.length > 0) this.relay(buffered);
    this.source.setHandler(this.onChunk);
    this.resumeIfFree();
  }

  stop(): void {
    this.running = false;
    this.source.setHandler(undefined);
    this.writer.setReadyHandler(undefined);
    clearTimeout(this.throttle);
    this.throttle = undefined;
  }

  private readonly onChunk = (chunk: Buffer): void => {
    this.relay(chunk);
  };

  private relay(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.writer.write(chunk)) {
      this.waitingForSink = true;
      this.source.pause();
    }
    const waitMs = this.budget.consume(chunk.length);
    if (waitMs > 0) {
      this.source.pause();
      clearTimeout(this.throttle);
      this.throttle = setTimeout(this.onThrottleOver, Math.ceil(waitMs));
    }
  }

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
