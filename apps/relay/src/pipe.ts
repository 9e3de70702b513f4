import { type Duplex } from 'node:stream';

import { type ByteBudget } from './bandwidth';

/**
 * One direction of a paired session: every chunk read from `source` is written to `sink` as is (no
 * copy, no parsing), like `stream.pipe`, with two reasons to stop reading: the sink's buffer is full
 * (backpressure: a slow reader slows the writer, nothing queues beyond the sink's highWaterMark) or
 * the bandwidth budget is overdrawn (pause until it is paid back).
 */
export class RelayPipe {
  /** Bytes relayed so far, including the ones buffered before pairing. */
  bytes = 0;
  private waitingForDrain = false;
  private throttle: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly source: Duplex,
    private readonly sink: Duplex,
    private readonly budget: ByteBudget,
  ) {}

  /** `buffered`: what the source sent after its RequestRelay, before the pair existed. */
  start(buffered: Buffer): void {
    this.running = true;
    this.sink.on('drain', this.onDrain);
    if (buffered.length > 0) this.onData(buffered);
    this.source.on('data', this.onData);
    if (!this.waitingForDrain && this.throttle === undefined) this.source.resume();
  }

  stop(): void {
    this.running = false;
    this.source.off('data', this.onData);
    this.sink.off('drain', this.onDrain);
    clearTimeout(this.throttle);
    this.throttle = undefined;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.bytes += chunk.length;
    if (!this.sink.write(chunk)) {
      this.waitingForDrain = true;
      this.source.pause();
    }
    const waitMs = this.budget.consume(chunk.length);
    if (waitMs > 0) {
      this.source.pause();
      clearTimeout(this.throttle);
      this.throttle = setTimeout(this.onThrottleOver, Math.ceil(waitMs));
    }
  };

  private readonly onDrain = (): void => {
    this.waitingForDrain = false;
    this.resumeIfFree();
  };

  private readonly onThrottleOver = (): void => {
    this.throttle = undefined;
    this.resumeIfFree();
  };

  private resumeIfFree(): void {
    if (this.running && !this.waitingForDrain && this.throttle === undefined) this.source.resume();
  }
}
