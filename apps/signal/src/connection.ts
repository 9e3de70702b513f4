import { type Duplex } from 'node:stream';

import { type SecureChannel } from '@switchboard/crypto';
import { type Logger } from '@switchboard/observability';
import {
  encodeFrame,
  encodeRendezvous,
  FrameDecoder,
  FrameTooLargeError,
  type RendezvousPayload,
} from '@switchboard/protocol';
import { type PeerEndpoint } from '@switchboard/transport';

import { type PeerRecord } from './peer-map';

/** Which listener accepted the connection; handlers differ per port (docs/protocol.md §0). */
export type Listener = 'tcp' | 'nat-test' | 'ws';

export type CloseReason =
  | 'timeout'
  | 'frame-too-large'
  | 'stream-error'
  | 'peer-closed'
  /** Answered a one-shot request (§5.5: anything but a punch or relay request closes after it). */
  | 'handled'
  /** Not a RendezvousMessage we know. */
  | 'bad-message'
  /** A message this listener does not serve. */
  | 'unexpected-message'
  | 'decrypt-failed'
  | 'key-exchange-failed'
  | 'rate-limited'
  /** The device was banned, revoked or deleted while its link was up. */
  | 'denied'
  /** The same device opened a newer registration link. */
  | 'superseded'
  | 'handler-error'
  | 'shutdown';

export interface ConnectionLimits {
  /** Largest frame accepted; a bigger announced length closes the connection unread. */
  readonly maxFrameBytes: number;
  /** A frame must arrive within this long of the accept or of the previous frame. */
  readonly messageTimeoutMs: number;
}

export interface ConnectionHooks {
  /** Called once per complete frame, already decrypted on a secured link. Must not be async. */
  frame(connection: SignalConnection, frame: Buffer): void;
  closed(connection: SignalConnection, reason: CloseReason): void;
}

const HEARTBEAT = encodeFrame(Buffer.alloc(0));

/**
 * One TCP or WebSocket client, reduced to messages in and out. With a secure channel (TCP 21116 and a
 * signing key, docs/protocol.md §4) it offers the signed box key first and seals/opens every non-empty
 * frame after the client's KeyExchange. Nothing thrown by the stream, the decoder or a handler
 * escapes: each ends this connection only, logged with its address.
 */
export class SignalConnection {
  readonly logger: Logger;
  /** The peer this connection keeps registered (TCP/WS registration, §5.11a), if any. */
  registeredPeer: PeerRecord | undefined;
  /** Whether this connection put itself in the punch map (a PunchHoleRequest or RequestRelay). */
  awaitingPeer = false;
  /** Tunnelled API requests (HttpProxyRequest) on this connection still waiting for the api. */
  proxyRequests = 0;
  /** Clock time of the last frame written, for keep-alive pings. */
  lastSentAt: number;
  private readonly decoder: FrameDecoder;
  private timer: NodeJS.Timeout | undefined;
  private timeoutMs: number;
  private closeReason: CloseReason | undefined;

  constructor(
    private readonly stream: Duplex,
    readonly listener: Listener,
    readonly remote: PeerEndpoint,
    /** The remote's per-IP limit key (its IPv6 network), worked out once at accept: see rateLimitKey. */
    readonly rateKey: string,
    limits: ConnectionLimits,
    private readonly hooks: ConnectionHooks,
    logger: Logger,
    readonly channel: SecureChannel | undefined,
    private readonly now: () => number,
  ) {
    this.logger = logger.child({ listener, remote: `${remote.address}:${remote.port}` });
    this.decoder = new FrameDecoder(limits.maxFrameBytes);
    this.timeoutMs = limits.messageTimeoutMs;
    this.lastSentAt = now();
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  start(): void {
    this.armTimer();
    this.stream.on('data', (chunk: Buffer) => this.receive(chunk));
    // A client may send its request and half-close at once: what it sent is handled synchronously
    // as it arrives, so by 'end' any answer is already written.
    this.stream.on('end', () => this.close('peer-closed'));
    this.stream.on('error', (error) => {
      this.logger.debug({ err: error }, 'connection error');
      this.destroy('stream-error');
    });
    this.stream.on('close', () => this.finish('peer-closed'));
    // The signed box key goes out first, in the clear; clients that did not ask for security skip it.
    if (this.channel) {
      this.write(
        encodeFrame(
          encodeRendezvous({ $case: 'keyExchange', value: { keys: [this.channel.signedBoxPublicKey] } }),
        ),
      );
    }
  }

  sendMessage(payload: RendezvousPayload): void {
    if (this.closed) return;
    const plain = encodeRendezvous(payload);
    this.write(encodeFrame(this.channel ? this.channel.seal(plain) : plain));
  }

  /** The empty frame: a keep-alive both ends echo or ignore (docs/protocol.md §1, §5.11a). */
  sendHeartbeat(): void {
    if (!this.closed) this.write(HEARTBEAT);
  }

  /** Changes how long the next (and every later) frame may take; re-arms the timer. */
  setMessageTimeout(ms: number): void {
    this.timeoutMs = ms;
    if (!this.closed) this.armTimer();
  }

  /** Flushes what was sent, then closes. */
  close(reason: CloseReason): void {
    if (this.closed) return;
    this.finish(reason);
    this.stream.end(() => this.stream.destroy());
  }

  /** Drops the connection at once, unsent output included. */
  destroy(reason: CloseReason): void {
    this.finish(reason);
    this.stream.destroy();
  }

  private write(bytes: Buffer): void {
    this.lastSentAt = this.now();
    this.stream.write(bytes);
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      if (error instanceof FrameTooLargeError) {
        this.logger.warn({ length: error.length, limit: error.limit }, 'frame too large, closing');
        this.destroy('frame-too-large');
      } else {
        this.logger.error({ err: error }, 'undecodable input, closing');
        this.destroy('stream-error');
      }
      return;
    }
    // One frame at a time, in order, each fully handled before the next: KeyExchange decides the
    // channel, and the secretbox counters of docs/protocol.md §4 advance per frame.
    for (const frame of frames) {
      if (this.closed) return;
      // An empty frame keeps only a registration link alive: clients send one just to echo our ping
      // (rustdesk src/rendezvous_mediator.rs start_tcp), and we ping registered links only. On any
      // other connection it would let a peer that never registers hold its socket for ever.
      if (frame.length > 0 || this.registeredPeer !== undefined) this.armTimer();
      const opened = this.channel ? this.channel.open(frame) : { ok: true as const, plain: frame };
      if (!opened.ok) {
        this.logger.warn({ counter: opened.error.counter }, 'frame failed to decrypt, closing');
        this.destroy('decrypt-failed');
        return;
      }
      try {
        this.hooks.frame(this, opened.plain);
      } catch (error) {
        this.logger.error({ err: error }, 'message handler failed, closing');
        this.destroy('handler-error');
        return;
      }
    }
  }

  private armTimer(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.logger.debug({ timeoutMs: this.timeoutMs }, 'no message in time, closing');
      this.destroy('timeout');
    }, this.timeoutMs);
  }

  private finish(reason: CloseReason): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    clearTimeout(this.timer);
    this.hooks.closed(this, reason);
  }
}
