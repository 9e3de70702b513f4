import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

import {
  encodeFrame,
  encodeFrameHeader,
  encodeRendezvous,
  FrameDecoder,
  RequestRelay,
} from '@switchboard/protocol';
import { type RawData, WebSocket } from 'ws';

// A relay client built for volume rather than protocol coverage (the reference RustDesk peer in
// libs/testing covers that): it joins with a RequestRelay, then sends and receives frames of random
// bytes and hashes what it got, on TCP (BytesCodec frames) or WebSocket (one message per frame).

export type BulkTransport = 'tcp' | 'ws';

export interface JoinOptions {
  transport: BulkTransport;
  /** The relay's TCP port; WebSocket clients use the relay's WebSocket port. */
  port: number;
  uuid: string;
  peerId?: string;
  licenceKey?: string;
  localAddress?: string;
  /** One frame to send right after RequestRelay (in the same TCP write), as B sends its SignedId. */
  trailing?: Buffer;
  /** Join over TLS (TCP) or wss:// (WebSocket), trusting this CA; `servername`: the SNI (TCP only). */
  tls?: { ca: string; servername?: string };
}

const SOURCE = randomBytes(1024 * 1024 + 65_536);

export class BulkPeer {
  /** Payload bytes received so far (frame headers excluded). */
  received = 0;
  /** Frames (TCP) or messages (WS) received so far. */
  frames = 0;
  /** The first few frames received, kept whole. */
  readonly firstFrames: Buffer[] = [];
  private readonly hash = createHash('sha256');
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private readonly waiters: Array<{ bytes: number; resolve: () => void }> = [];
  readonly closed: Promise<void>;

  private constructor(
    readonly transport: BulkTransport,
    private readonly tcp: Socket | undefined,
    private readonly ws: WebSocket | undefined,
  ) {
    if (tcp) {
      tcp.on('data', (chunk: Buffer) => {
        for (const frame of this.decoder.push(chunk)) this.take(frame);
      });
      tcp.on('error', () => undefined);
      this.closed = once(tcp, 'close').then(() => undefined);
    } else if (ws) {
      ws.on('message', (data: RawData) => this.take(data as Buffer));
      ws.on('error', () => undefined);
      this.closed = once(ws, 'close').then(() => undefined);
    } else {
      throw new Error('no socket');
    }
  }

  static async join(options: JoinOptions): Promise<BulkPeer> {
    const request = encodeRendezvous({
      $case: 'requestRelay',
      value: RequestRelay.fromPartial({
        uuid: options.uuid,
        id: options.peerId ?? '',
        licenceKey: options.licenceKey ?? '',
      }),
    });
    if (options.transport === 'tcp') {
      const target = { host: '127.0.0.1', port: options.port, localAddress: options.localAddress };
      const socket = options.tls
        ? connectTls({ ...target, ca: options.tls.ca, servername: options.tls.servername })
        : createConnection(target);
      await once(socket, options.tls ? 'secureConnect' : 'connect');
      const peer = new BulkPeer('tcp', socket, undefined);
      const trailing = options.trailing ? encodeFrame(options.trailing) : Buffer.alloc(0);
      socket.write(Buffer.concat([encodeFrame(request), trailing]));
      return peer;
    }
    const scheme = options.tls ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://127.0.0.1:${options.port}/ws/relay`, {
      localAddress: options.localAddress,
      ca: options.tls?.ca,
    });
    await once(socket, 'open');
    const peer = new BulkPeer('ws', undefined, socket);
    socket.send(request);
    if (options.trailing) socket.send(options.trailing);
    return peer;
  }

  /**
   * Sends `total` random payload bytes in frames of `frameBytes`, waiting whenever the socket's buffer
   * is full; resolves with the SHA-256 of the payload.
   */
  async send(total: number, frameBytes = 64 * 1024): Promise<string> {
    const digest = createHash('sha256');
    let offset = 0;
    for (let sent = 0; sent < total;) {
      const size = Math.min(frameBytes, total - sent);
      const payload = SOURCE.subarray(offset, offset + size);
      offset = (offset + 7_919) % (SOURCE.length - frameBytes);
      digest.update(payload);
      await this.sendFrame(payload);
      sent += size;
    }
    return digest.digest('hex');
  }

  async sendFrame(payload: Buffer): Promise<void> {
    if (this.tcp) {
      if (this.tcp.destroyed) throw new Error('socket closed');
      this.tcp.write(encodeFrameHeader(payload.length));
      if (!this.tcp.write(payload)) await Promise.race([once(this.tcp, 'drain'), this.closed]);
      return;
    }
    const ws = this.ws as WebSocket;
    if (ws.readyState !== WebSocket.OPEN) throw new Error('socket closed');
    ws.send(payload);
    if (ws.bufferedAmount > 1024 * 1024) {
      while (ws.bufferedAmount > 256 * 1024 && ws.readyState === WebSocket.OPEN) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  }

  /** Resolves once `bytes` payload bytes have arrived (rejects if the socket closes first). */
  async receive(bytes: number, timeoutMs = 60_000): Promise<string> {
    if (this.received < bytes) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push({ bytes, resolve })),
        this.closed.then(() => {
          if (this.received < bytes) throw new Error(`closed after ${this.received} of ${bytes} bytes`);
        }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${this.received} of ${bytes} bytes after ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    }
    return this.hash.copy().digest('hex');
  }

  pause(): void {
    if (this.tcp) this.tcp.pause();
    else this.ws?.pause();
  }

  resume(): void {
    if (this.tcp) this.tcp.resume();
    else this.ws?.resume();
  }

  close(): void {
    this.tcp?.destroy();
    this.ws?.terminate();
  }

  private take(payload: Buffer): void {
    this.received += payload.length;
    this.frames += 1;
    if (this.firstFrames.length < 8) this.firstFrames.push(Buffer.from(payload));
    this.hash.update(payload);
    for (const waiter of [...this.waiters]) {
      if (this.received >= waiter.bytes) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}
