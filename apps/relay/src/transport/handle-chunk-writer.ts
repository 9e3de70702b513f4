import { type Socket } from 'node:net';
import { getSystemErrorName, types } from 'node:util';

import { type ChunkWriter, type ReadyHandler } from './chunk-writer';

// Writing a TCP socket through its libuv handle, as net.Socket's own `_write` does underneath
// (node lib/internal/stream_base_commons.js `writeGeneric`), minus the Writable stream around it: no
// write request, callback or tick objects per chunk. At 2,000 sessions of small messages those were
// most of the relay's garbage, and its scavenges part of the latency tail (bench/README.md "relay").
// The binding is Node-internal, so every piece is checked once here and the relay falls back to
// writing the socket as a stream (chunk-writer.ts) where it is missing or different.

/** A libuv write request; `buffer` keeps the chunk's memory alive while libuv still needs it. */
interface WriteRequest {
  buffer: Buffer | undefined;
  oncomplete: (status: number) => void;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  /** Shared with native code: what the last write did; the slot at kLastWriteWasAsync is 1 if it was queued. */
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

interface StreamHandle {
  /** 0, or a negative errno; the kernel's share is written at once, the rest queued in libuv. */
  writeBuffer(request: WriteRequest, chunk: Buffer): number;
}

function loadStreamWrap(): StreamWrapBinding | undefined {
  try {
    // process.binding: deprecated in favour of nothing public; typed out of @types/node.
    const legacy = process as NodeJS.Process & { binding?: (name: string) => unknown };
    const binding = legacy.binding?.('stream_wrap') as Partial<StreamWrapBinding> | undefined;
    const usable =
      typeof binding?.WriteWrap === 'function' &&
      // Not instanceof: the binding's array may come from another realm (Jest's sandbox).
      types.isInt32Array(binding.streamBaseState) &&
      typeof binding.kLastWriteWasAsync === 'number' &&
      binding.kLastWriteWasAsync < binding.streamBaseState.length;
    return usable ? (binding as StreamWrapBinding) : undefined;
  } catch {
    return undefined;
  }
}

const streamWrap = loadStreamWrap();

function handleOf(socket: Socket): Partial<StreamHandle> | undefined {
  return (socket as Socket & { _handle?: Partial<StreamHandle> | null })._handle ?? undefined;
}

/** A system error as Node's own socket writes report it (`write EPIPE`). */
function writeError(status: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  return Object.assign(new Error(`write ${code}`), { code, errno: status, syscall: 'write' });
}

/**
 * Writes chunks straight to a TCP socket's handle. A chunk the kernel takes whole (the common case)
 * costs one syscall and no allocation, and the request object is used again; a chunk it takes only
 * in part is queued by libuv with its request, which keeps the chunk alive, and the ready handler is
 * called once libuv has written the rest. The socket stays a normal net.Socket for everything else:
 * `end()` shuts down after the queued writes, `destroy()` cancels them. Nothing else may write to the
 * socket (Node's own write queue would be overtaken); in the relay nothing does, it never sends a byte
 * of its own.
 */
export class HandleChunkWriter implements ChunkWriter {
  private ready: ReadyHandler | undefined;
  /** Unused by every write that completes at once, so it serves the next one too. */
  private request: WriteRequest;
  private queued = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly binding: StreamWrapBinding,
  ) {
    this.request = this.newRequest();
  }

  /** Undefined where this Node offers no usable handle writes, or the socket has no handle. */
  static forSocket(socket: Socket): HandleChunkWriter | undefined {
    if (streamWrap === undefined || typeof handleOf(socket)?.writeBuffer !== 'function') return undefined;
    return new HandleChunkWriter(socket, streamWrap);
  }

  write(chunk: Buffer): boolean {
    const handle = handleOf(this.socket);
    // Destroyed: its 'close' is ending the session, nothing is written any more.
    if (handle?.writeBuffer === undefined) return false;
    const request = this.request;
    const status = handle.writeBuffer(request, chunk);
    if (status !== 0) {
      this.fail(status);
      return false;
    }
    if (this.binding.streamBaseState[this.binding.kLastWriteWasAsync] === 0) return true;
    request.buffer = chunk;
    this.queued++;
    this.request = this.newRequest();
    return false;
  }

  setReadyHandler(handler: ReadyHandler | undefined): void {
    this.ready = handler;
  }

  private newRequest(): WriteRequest {
    const request = new this.binding.WriteWrap();
    request.buffer = undefined;
    request.oncomplete = (status: number) => {
      request.buffer = undefined;
      this.queued--;
      if (status < 0) this.fail(status);
      else if (this.queued === 0) this.ready?.();
    };
    return request;
  }

  /** A write that failed ends the connection, as a failed socket write does (a close cancels writes: no error then). */
  private fail(status: number): void {
    if (!this.socket.destroyed) this.socket.destroy(writeError(status));
  }
}
