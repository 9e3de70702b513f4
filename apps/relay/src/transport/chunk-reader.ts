import { type Duplex } from 'node:stream';

/** Gets every chunk a connection reads, in order. */
export type ChunkHandler = (chunk: Buffer) => void;

/**
 * The read side of a relay connection: TCP sockets read into a buffer of their own (tcp-chunk-reader.ts),
 * anything else (WebSocket) through its stream's 'data' events.
 */
export interface ChunkReader {
  /**
   * True when a chunk is a view of a read buffer that the next read overwrites: a handler must copy
   * what it keeps, or pause until nothing needs the chunk any more.
   */
  readonly reusesBuffer: boolean;
  /** Chunks go to `handler` from now on; none is delivered while there is none. */
  setHandler(handler: ChunkHandler | undefined): void;
  pause(): void;
  resume(): void;
}

/** Reads any Duplex through its 'data' events; every chunk is the handler's to keep. */
export class StreamChunkReader implements ChunkReader {
  readonly reusesBuffer = false;
  private handler: ChunkHandler | undefined;

  constructor(private readonly stream: Duplex) {}

  setHandler(handler: ChunkHandler | undefined): void {
    const listening = this.handler !== undefined;
    this.handler = handler;
    if (handler && !listening) this.stream.on('data', this.onData);
    if (!handler && listening) this.stream.off('data', this.onData);
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.handler?.(chunk);
  };
}
