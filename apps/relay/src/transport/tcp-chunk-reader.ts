import { type OnReadOpts, Socket, type SocketConstructorOpts } from 'node:net';

import { type ChunkHandler, type ChunkReader } from './chunk-reader';

export interface ReadBufferSizes {
  /** What a connection starts with: most relay reads are a few KiB of screen updates. */
  readonly initialBytes: number;
  /** A connection whose reads fill its buffer gets one 4× larger, up to this. */
  readonly maxBytes: number;
}

export const DEFAULT_READ_BUFFER_SIZES: ReadBufferSizes = {
  initialBytes: 16 * 1024,
  // Large reads are what let one session outrun socat's 64 KiB read/write loop (bench/README.md).
  maxBytes: 1024 * 1024,
};

/** After this many reads in a row that used under a sixteenth of the buffer, it shrinks back. */
const SMALL_READS_BEFORE_SHRINK = 64;

type SocketWithHandle = Socket & { _handle?: object | null };
/** What net.Server passes when it wraps an accepted handle (node lib/net.js `onconnection`). */
type AdoptingSocketOptions = SocketConstructorOpts & { handle: object; onread: OnReadOpts };

/**
 * Reads an accepted TCP socket into a buffer of its own, reused read after read, through Node's
 * `onread` option. Node's default read path allocates a fresh 64 KiB buffer for every read and runs
 * the Readable stream machinery per chunk; on a relay that only copies bytes along, that was most of
 * its CPU (`node --cpu-prof` during bench/relay). Every chunk handed out is a view of the one buffer,
 * so a handler copies what it keeps or pauses until its write has left (pipe.ts).
 */
export class TcpChunkReader implements ChunkReader {
  readonly reusesBuffer = true;
  private buffer: Buffer;
  private handler: ChunkHandler | undefined;
  private smallReads = 0;
  private paused = true;
  /** Bytes read before the adoption (a dual-mode listener's first chunk): delivered before any other. */
  private head: Buffer | undefined;
  private headScheduled = false;

  /** The socket to use from now on: reads, writes, events and close. */
  readonly socket: Socket;

  private constructor(
    private readonly sizes: ReadBufferSizes,
    makeSocket: (reader: TcpChunkReader) => Socket,
  ) {
    // Its own memory, never a slice of Node's shared pool, since reads land in it directly.
    this.buffer = Buffer.allocUnsafeSlow(sizes.initialBytes);
    this.socket = makeSocket(this);
  }

  /**
   * Takes over a socket the server accepted with `pauseOnConnect` (so nothing was read yet): Node
   * offers `onread` only to sockets it constructs, so the accepted socket's handle is moved into a
   * new one that has it. The accepted socket stays the server's record of the connection and is
   * destroyed when the new one closes, so `server.close()` still waits for it. Returns undefined if
   * this Node has no such handle; the caller then reads the socket as any stream.
   *
   * `head`: what was already read from the socket (a dual-mode listener looked at the first chunk to
   * tell TLS from plain): the handler gets it first, on the first resume, and the handle's reads after.
   */
  static adopt(
    accepted: Socket,
    sizes: ReadBufferSizes = DEFAULT_READ_BUFFER_SIZES,
    head?: Buffer,
  ): TcpChunkReader | undefined {
    const withHandle = accepted as SocketWithHandle;
    const handle = withHandle._handle;
    if (handle === null || handle === undefined || accepted.destroyed) return undefined;
    withHandle._handle = null;
    const reader = new TcpChunkReader(sizes, (self) => {
      const options: AdoptingSocketOptions = {
        handle,
        readable: true,
        writable: true,
        onread: {
          // Asked once now and after every read: the buffer the next read goes into.
          buffer: () => self.buffer,
          callback: (bytes, buffer) => {
            self.onRead(bytes, buffer);
            return true;
          },
        },
      };
      return new Socket(options);
    });
    // The new socket starts reading at once; nothing is read until a handler is set and resumes it.
    reader.pause();
    if (head !== undefined && head.length > 0) reader.head = head;
    reader.socket.once('close', () => accepted.destroy());
    return reader;
  }

  setHandler(handler: ChunkHandler | undefined): void {
    this.handler = handler;
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    if (this.head !== undefined) {
      // On a tick of its own: the caller of resume() is often still setting the connection up.
      if (!this.headScheduled) {
        this.headScheduled = true;
        process.nextTick(this.deliverHead);
      }
      return;
    }
    if (!this.socket.destroyed) this.socket.resume();
  }

  private readonly deliverHead = (): void => {
    this.headScheduled = false;
    const head = this.head;
    // Paused again, or no handler: it waits for the next resume.
    if (head === undefined || this.paused || this.handler === undefined) return;
    this.head = undefined;
    this.handler(head);
    if (!this.paused) this.resume();
  };

  private onRead(bytes: number, buffer: Uint8Array): void {
    const handler = this.handler;
    if (handler === undefined) {
      // Only once its pipe has stopped, i.e. the connection is closing: nothing more is wanted.
      this.pause();
      return;
    }
    handler(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
    this.resize(bytes);
  }

  /** Bigger reads for a busy connection, a small buffer again for one gone quiet. */
  private resize(bytes: number): void {
    const size = this.buffer.length;
    if (bytes === size && size < this.sizes.maxBytes) {
      this.buffer = Buffer.allocUnsafeSlow(Math.min(size * 4, this.sizes.maxBytes));
      this.smallReads = 0;
    } else if (size > this.sizes.initialBytes && bytes < size / 16) {
      if (++this.smallReads >= SMALL_READS_BEFORE_SHRINK) {
        this.buffer = Buffer.allocUnsafeSlow(this.sizes.initialBytes);
        this.smallReads = 0;
      }
    } else {
      this.smallReads = 0;
    }
  }
}
