import { type Socket } from 'node:net';
import { type Duplex } from 'node:stream';

/** Called once a writer that said "wait" can take the next chunk. */
export type ReadyHandler = () => void;

/**
 * The write side of a relay pipe (pipe.ts). A writer may be handed a chunk that is a view of its
 * source's read buffer (tcp-chunk-reader.ts), so it must be done with the chunk's memory before the
 * source reads again: `write` says whether it is, or promises a call of the ready handler once it is.
 * A writer whose stream failed destroys that stream and never calls the handler: the connection's
 * 'error'/'close' ends the session.
 */
export interface ChunkWriter {
  /** True: the chunk's memory is free and the next may follow at once; false: wait for ready. */
  write(chunk: Buffer): boolean;
  setReadyHandler(handler: ReadyHandler | undefined): void;
}

/**
 * A socket written as a stream, zero-copy: the chunk goes to Node's write as is, and a write the
 * kernel did not take whole makes the pipe wait until the socket has flushed it.
 */
export class SocketChunkWriter implements ChunkWriter {
  private ready: ReadyHandler | undefined;
  private waiting = false;

  constructor(private readonly socket: Socket) {}

  write(chunk: Buffer): boolean {
    // Destroyed: its 'close' is ending the session, nothing is written any more.
    if (this.socket.destroyed) return false;
    this.socket.write(chunk, this.onFlushed);
    this.waiting = this.socket.writableLength > 0;
    return !this.waiting;
  }

  setReadyHandler(handler: ReadyHandler | undefined): void {
    this.ready = handler;
  }

  /** After each write has reached the kernel (or failed: then the socket is being destroyed). */
  private readonly onFlushed = (error?: Error | null): void => {
    if (error || !this.waiting || this.socket.writableLength > 0) return;
    this.waiting = false;
    this.ready?.();
  };
}

/**
 * Any Duplex, through its stream buffer (up to its highWaterMark) and 'drain'. Borrowed chunks are
 * copied, since the stream keeps what it buffers.
 */
export class StreamChunkWriter implements ChunkWriter {
  private ready: ReadyHandler | undefined;

  constructor(
    private readonly stream: Duplex,
    private readonly borrowedChunks: boolean,
  ) {}

  write(chunk: Buffer): boolean {
    return this.stream.write(this.borrowedChunks ? Buffer.from(chunk) : chunk);
  }

  setReadyHandler(handler: ReadyHandler | undefined): void {
    if (this.ready === undefined && handler !== undefined) this.stream.on('drain', this.onDrain);
    if (this.ready !== undefined && handler === undefined) this.stream.off('drain', this.onDrain);
    this.ready = handler;
  }

  private readonly onDrain = (): void => {
    this.ready?.();
  };
}
