import { once } from 'node:events';
import { connect as connectSocket, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

import { WebSocket, type RawData } from 'ws';

import { type FrameCipher } from '@switchboard/crypto';
import {
  decodePeerMessage,
  decodeRendezvous,
  encodeFrame,
  encodePeerMessage,
  encodeRendezvous,
  FrameDecoder,
  type PeerPayload,
  type RendezvousPayload,
} from '@switchboard/protocol';

import { AsyncQueue, withTimeout } from './async-queue';
import { LinkClosedError, PeerProtocolError, PeerTimeoutError } from './errors';

// What hbb_common calls a Stream (src/tcp.rs FramedStream, src/websocket.rs): one message per
// BytesCodec frame on TCP, one per binary WebSocket message on WS, and once a key is set every
// non-empty frame is secretbox'd in both directions (docs/protocol.md §1, §4).

export type LinkTransport = 'tcp' | 'ws';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Frames beyond this are a broken or hostile peer; generous, since relayed video frames are large. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * TLS towards a Switchboard listener in `on` or `dual` mode (stock clients speak plain TCP; this is
 * what a TLS-terminating tool or a TLS-capable client does). `ca` is the PEM the server's chain ends in.
 */
export interface LinkTls {
  readonly ca: string;
  /** SNI and the name checked; default the host dialled. */
  readonly servername?: string;
}

export interface TcpLinkOptions {
  host: string;
  port: number;
  /** Local IP to bind; another loopback address (127.0.0.2) looks like another network to a server. */
  localAddress?: string;
  /** Local port to bind, as the client's NAT test does for its second connection. */
  localPort?: number;
  timeoutMs: number;
  maxFrameBytes?: number;
  tls?: LinkTls;
}

export interface WebSocketLinkOptions {
  localAddress?: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** For wss:// URLs: the CA to trust. */
  tls?: LinkTls;
}

/** One framed connection to hbbs, hbbr or another peer. */
export class FramedLink {
  private readonly frames = new AsyncQueue<Buffer>();
  private cipher: FrameCipher | undefined;
  private closeError: Error | undefined;
  private readonly closedPromise: Promise<void>;
  private markClosed!: () => void;

  private constructor(
    readonly transport: LinkTransport,
    readonly local: Endpoint,
    readonly remote: Endpoint,
    private readonly writeFrame: (payload: Buffer) => Promise<void>,
    private readonly destroy: () => void,
  ) {
    this.closedPromise = new Promise((resolve) => (this.markClosed = resolve));
  }

  static async connectTcp(options: TcpLinkOptions): Promise<FramedLink> {
    const target = {
      host: options.host,
      port: options.port,
      localAddress: options.localAddress,
      localPort: options.localPort,
    };
    const socket = options.tls
      ? connectTls({
          ...target,
          ca: options.tls.ca,
          servername: options.tls.servername ?? serverName(options.host),
        })
      : connectSocket(target);
    try {
      await withTimeout(
        once(socket, options.tls ? 'secureConnect' : 'connect'),
        options.timeoutMs,
        `TCP connect to ${options.host}:${options.port}`,
      );
    } catch (error) {
      socket.destroy();
      throw error;
    }
    return FramedLink.fromSocket(socket, options.maxFrameBytes);
  }

  /** Wraps an already connected socket (a server's accepted one, in tests). */
  static fromSocket(socket: Socket, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): FramedLink {
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(maxFrameBytes);
    const link = new FramedLink(
      'tcp',
      { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
      { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      (payload) =>
        new Promise((resolve, reject) => {
          socket.write(encodeFrame(payload), (error) => (error ? reject(error) : resolve()));
        }),
      () => socket.destroy(),
    );
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        socket.destroy(error as Error);
        return;
      }
      for (const frame of frames) link.frames.push(frame);
    });
    socket.on('error', (error) => link.finish(error));
    socket.on('close', () => link.finish());
    return link;
  }

  static async connectWebSocket(url: string, options: WebSocketLinkOptions): Promise<FramedLink> {
    // ws hands these to tls.connect for wss:// (its types list only some of tls.connect's options).
    const tlsOptions: { ca?: string; servername?: string } = options.tls ?? {};
    const socket = new WebSocket(url, {
      ...tlsOptions,
      localAddress: options.localAddress,
      headers: options.headers,
      handshakeTimeout: options.timeoutMs,
    });
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          socket.once('open', () => resolve());
          socket.once('error', reject);
        }),
        options.timeoutMs,
        `WebSocket connect to ${url}`,
      );
    } catch (error) {
      socket.terminate();
      throw error;
    }
    // ws exposes the TCP socket underneath; its addresses are what the server sees.
    const raw = (socket as unknown as { _socket: Socket })._socket;
    const link = new FramedLink(
      'ws',
      { address: raw.localAddress ?? '', port: raw.localPort ?? 0 },
      { address: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 },
      (payload) =>
        new Promise((resolve, reject) => {
          socket.send(payload, { binary: true }, (error) => (error ? reject(error) : resolve()));
        }),
      () => socket.terminate(),
    );
    socket.on('message', (data: RawData, isBinary: boolean) => {
      // Text messages carry nothing in RustDesk's protocol (docs/protocol.md §1).
      if (isBinary) link.frames.push(toBuffer(data));
    });
    socket.on('error', (error) => link.finish(error));
    socket.on('close', () => link.finish());
    return link;
  }

  /** From now on every non-empty frame is sealed/opened with this cipher (hbb_common set_key). */
  useCipher(cipher: FrameCipher): void {
    this.cipher = cipher;
  }

  get secured(): boolean {
    return this.cipher !== undefined;
  }

  get isClosed(): boolean {
    return this.frames.closed;
  }

  /** Resolves once the link is closed, for whatever reason. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  /** Why the link closed, if it closed on an error. */
  get error(): Error | undefined {
    return this.closeError;
  }

  async sendFrame(plain: Uint8Array): Promise<void> {
    if (this.isClosed) throw new LinkClosedError('send', this.closeError);
    const payload = this.cipher ? this.cipher.seal(plain) : Buffer.from(plain);
    await this.writeFrame(payload);
  }

  sendRendezvous(payload: RendezvousPayload): Promise<void> {
    return this.sendFrame(encodeRendezvous(payload));
  }

  sendPeerMessage(payload: PeerPayload): Promise<void> {
    return this.sendFrame(encodePeerMessage(payload));
  }

  /** The next frame, opened. A frame that fails to decrypt closes the link, as the client does. */
  async nextFrame(timeoutMs: number, what = 'next frame'): Promise<Buffer> {
    let frame: Buffer;
    try {
      frame = await this.frames.shift(timeoutMs, what);
    } catch (error) {
      if (error instanceof PeerTimeoutError) throw error;
      throw new LinkClosedError(what, this.closeError);
    }
    if (!this.cipher) return frame;
    const opened = this.cipher.open(frame);
    if (opened.ok) return opened.plain;
    this.close();
    throw new PeerProtocolError(`${what}: frame ${opened.error.counter} failed to decrypt`);
  }

  async nextRendezvous(timeoutMs: number, what = 'next rendezvous message'): Promise<RendezvousPayload> {
    const frame = await this.nextFrame(timeoutMs, what);
    const decoded = decodeRendezvous(frame);
    if (!decoded.ok) throw new PeerProtocolError(`${what}: undecodable frame (${decoded.error.kind})`);
    return decoded.payload;
  }

  /**
   * hbbs greets every TCP client with a KeyExchange that clients not asking for security skip
   * (rustdesk src/common.rs get_next_nonkeyexchange_msg): skip one, then take what follows.
   */
  async nextNonKeyExchange(timeoutMs: number, what = 'reply'): Promise<RendezvousPayload> {
    const deadline = Date.now() + timeoutMs;
    const first = await this.nextRendezvous(timeoutMs, what);
    if (first.$case !== 'keyExchange') return first;
    return this.nextRendezvous(Math.max(1, deadline - Date.now()), what);
  }

  async nextPeerMessage(timeoutMs: number, what = 'next peer message'): Promise<PeerPayload | undefined> {
    const frame = await this.nextFrame(timeoutMs, what);
    // An empty Message is how the controlling side says "no encryption" (client.rs secure_connection).
    if (frame.length === 0) return undefined;
    const decoded = decodePeerMessage(frame);
    if (!decoded.ok) throw new PeerProtocolError(`${what}: undecodable message (${decoded.error.kind})`);
    return decoded.payload;
  }

  close(): void {
    this.destroy();
    this.finish();
  }

  private finish(error?: Error): void {
    if (error && !this.closeError) this.closeError = error;
    if (this.frames.closed) return;
    this.frames.close(new LinkClosedError('link', this.closeError));
    this.markClosed();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** SNI carries host names only (RFC 6066 §3): none for an IP address. */
function serverName(host: string): string | undefined {
  return isIP(host) === 0 ? host : undefined;
}
