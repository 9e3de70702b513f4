import { Duplex } from 'node:stream';

import { WebSocket, type RawData } from 'ws';

import { encodeFrame, FrameDecoder, MAX_ENCODABLE_FRAME_BYTES } from '@switchboard/protocol';

export interface WebSocketDuplexOptions {
  /** Largest frame written to the duplex (messages in are capped by the server's maxPayload). */
  maxFrameBytes?: number;
  /** hbbr drops empty chunks both ways (empty WS messages too); hbbs sends them (they are heartbeats). */
  dropEmptyFrames?: boolean;
}

/**
 * Presents a WebSocket as the same byte stream a TCP socket carries, so one core serves both.
 * RustDesk puts one bare message in each binary WS message (docs/protocol.md §1): reading adds the
 * BytesCodec header, writing strips it and sends one WS message per frame. Text messages are ignored.
 */
export class WebSocketDuplex extends Duplex {
  private readonly decoder: FrameDecoder;
  private readonly dropEmptyFrames: boolean;

  constructor(
    private readonly socket: WebSocket,
    options: WebSocketDuplexOptions = {},
  ) {
    super();
    this.decoder = new FrameDecoder(options.maxFrameBytes ?? MAX_ENCODABLE_FRAME_BYTES);
    this.dropEmptyFrames = options.dropEmptyFrames ?? false;
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const payload = toBuffer(data);
      if (payload.length === 0 && this.dropEmptyFrames) return;
      if (!this.push(encodeFrame(payload))) socket.pause();
    });
    socket.once('close', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    const outgoing = this.dropEmptyFrames ? frames.filter((frame) => frame.length > 0) : frames;
    if (outgoing.length === 0) {
      callback();
      return;
    }
    // The callback waits for the last send so a slow WS client pushes back on whoever writes to us.
    outgoing.forEach((frame, index) => {
      const last = index === outgoing.length - 1;
      this.socket.send(frame, { binary: true }, (error) => {
        if (error) this.destroy(error);
        else if (last) callback();
      });
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.terminate();
    callback(error);
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
