import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

import { decodeFrame, decodeRendezvous, type RequestRelay } from '@switchboard/protocol';

import { AsyncQueue } from './async-queue';
import { formatHostPort } from './host-port';

// A minimal stand-in for hbbr (docs/protocol.md §6) for tests of other services: it reads each
// connection's RequestRelay, pairs the two connections that name the same uuid, forwards whatever
// followed the first frame, and then copies bytes blindly both ways. It records every RequestRelay
// and every relayed byte so a test can prove what a peer sent and that the payload was ciphertext.
// No limits, no timeouts, no licence check: it is not a relay, only a witness.

const MAX_REQUEST_BYTES = 64 * 1024;

export interface RecordedRelayRequest {
  readonly request: RequestRelay;
  readonly remote: { readonly address: string; readonly port: number };
}

interface Waiting {
  readonly socket: Socket;
  readonly pending: Buffer[];
}

export class PairingRelay {
  readonly requests: RecordedRelayRequest[] = [];
  private readonly incoming = new AsyncQueue<RecordedRelayRequest>();
  private readonly waiting = new Map<string, Waiting>();
  private readonly relayed = new Map<string, Buffer[]>();
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(host = '127.0.0.1'): Promise<PairingRelay> {
    const server = createServer();
    server.listen(0, host);
    await once(server, 'listening');
    return new PairingRelay(server);
  }

  /** `host:port`, the form hbbs hands to clients. */
  get address(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return formatHostPort({ host: address, port });
  }

  /** The next RequestRelay to arrive (or one that already did and was not taken yet). */
  nextRequest(timeoutMs: number): Promise<RecordedRelayRequest> {
    return this.incoming.shift(timeoutMs, 'relay: RequestRelay');
  }

  /** Every byte forwarded for this uuid so far, both directions, in arrival order. */
  relayedBytes(uuid: string): Buffer {
    return Buffer.concat(this.relayed.get(uuid) ?? []);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.incoming.close(new Error('relay closed'));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      let first: { frame: Buffer; size: number } | undefined;
      try {
        first = decodeFrame(buffered, MAX_REQUEST_BYTES);
      } catch {
        socket.destroy();
        return;
      }
      if (first === undefined) return;
      socket.off('data', onData);
      const decoded = decodeRendezvous(first.frame);
      if (!decoded.ok || decoded.payload.$case !== 'requestRelay' || decoded.payload.value.uuid === '') {
        socket.destroy();
        return;
      }
      // Whatever came after the RequestRelay (B's SignedId, typically) is the peer's, not ours.
      this.register(socket, decoded.payload.value, [buffered.subarray(first.size)]);
    };
    socket.on('data', onData);
  }

  private register(socket: Socket, request: RequestRelay, pending: Buffer[]): void {
    const recorded = {
      request,
      remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    };
    this.requests.push(recorded);
    this.incoming.push(recorded);
    const other = this.waiting.get(request.uuid);
    if (!other || other.socket.destroyed) {
      const waiting = { socket, pending };
      socket.on('data', (chunk: Buffer) => waiting.pending.push(chunk));
      socket.on('close', () => {
        if (this.waiting.get(request.uuid) === waiting) this.waiting.delete(request.uuid);
      });
      this.waiting.set(request.uuid, waiting);
      return;
    }
    this.waiting.delete(request.uuid);
    other.socket.removeAllListeners('data');
    const log = this.relayed.get(request.uuid) ?? [];
    this.relayed.set(request.uuid, log);
    const forwardTo = (to: Socket) => (chunk: Buffer) => {
      if (chunk.length === 0) return;
      log.push(Buffer.from(chunk));
      to.write(chunk);
    };
    other.pending.forEach(forwardTo(socket));
    pending.forEach(forwardTo(other.socket));
    other.socket.on('data', forwardTo(socket));
    socket.on('data', forwardTo(other.socket));
    // Either side closing ends both, as hbbr does.
    other.socket.on('close', () => socket.destroy());
    socket.on('close', () => other.socket.destroy());
  }
}
