import { Socket } from 'node:net';
import { type Duplex } from 'node:stream';

import { type ChunkWriter, SocketChunkWriter, StreamChunkWriter } from './chunk-writer';
import { HandleChunkWriter } from './handle-chunk-writer';

// Kept apart from chunk-writer.ts (what a writer is), so that handle-chunk-writer.ts can implement
// that interface without the two files importing each other.

/**
 * The writer for `sink`. `borrowedChunks`: the chunks are views of a read buffer that is reused.
 * A TCP socket is written through its handle where this Node allows (handle-chunk-writer.ts), else
 * through the socket as a stream without copying; anything else (WebSocket) through its stream buffer.
 */
export function chunkWriterFor(sink: Duplex, borrowedChunks: boolean): ChunkWriter {
  if (sink instanceof Socket) return HandleChunkWriter.forSocket(sink) ?? new SocketChunkWriter(sink);
  return new StreamChunkWriter(sink, borrowedChunks);
}
