// The least a Node process can do to relay RustDesk sessions, as a reference for part (2) of
// bench/relay (forked by forwarders.ts): pair two connections by the uuid of their first frame, then
// copy each read to the other side, reading into one reused buffer per socket and pausing while a
// write is queued, as the relay's TCP↔TCP pipe does. No tickets, limits, bans, metrics or timeouts:
// whatever the real relay adds beyond this is the price of those. Reports its port over IPC.
import { type AddressInfo, createServer, type OnReadOpts, Socket } from 'node:net';

import { decodeFrame, decodeRendezvous } from '@switchboard/protocol';

const READ_BUFFER_BYTES = 16 * 1024;
const MAX_FRAME_BYTES = 64 * 1024;

class BareEnd {
  readonly socket: Socket;
  partner: BareEnd | undefined;
  private readonly buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  private first = true;
  private pending: Buffer | undefined;
  private held = false;

  /** Takes over an accepted socket's handle, as the relay's TcpChunkReader does, to read into `buffer`. */
  constructor(accepted: Socket) {
    const withHandle = accepted as Socket & { _handle: object | null };
    const handle = withHandle._handle;
    withHandle._handle = null;
    const onread: OnReadOpts = {
      buffer: this.buffer,
      callback: (bytes) => {
        this.onRead(bytes);
        return true;
      },
    };
    this.socket = new Socket({ handle, readable: true, writable: true, onread } as ConstructorParameters<
      typeof Socket
    >[0]);
    this.socket.on('error', () => this.socket.destroy());
    this.socket.on('close', () => {
      accepted.destroy();
      this.partner?.socket.destroy();
    });
  }

  private onRead(bytes: number): void {
    const chunk = this.buffer.subarray(0, bytes);
    if (this.first) {
      this.first = false;
      this.join(chunk);
      return;
    }
    this.forward(chunk);
  }

  /** The first read holds the RequestRelay frame (the bench writes it alone) and maybe early bytes. */
  private join(chunk: Buffer): void {
    const decoded = decodeFrame(chunk, MAX_FRAME_BYTES);
    const message = decoded && decodeRendezvous(decoded.frame);
    if (!decoded || !message?.ok || message.payload.$case !== 'requestRelay') {
      this.socket.destroy();
      return;
    }
    if (decoded.size < chunk.length) this.pending = Buffer.from(chunk.subarray(decoded.size));
    const uuid = message.payload.value.uuid;
    const other = waiting.get(uuid);
    if (other === undefined) {
      waiting.set(uuid, this);
      return;
    }
    waiting.delete(uuid);
    this.partner = other;
    other.partner = this;
    for (const end of [this, other]) if (end.pending) end.forward(end.pending);
  }

  private forward(chunk: Buffer): void {
    const sink = this.partner?.socket;
    if (sink === undefined) return;
    sink.write(chunk, () => {
      if (this.held && sink.writableLength === 0) {
        this.held = false;
        this.socket.resume();
      }
    });
    // The next read would overwrite what the kernel has not taken yet.
    if (sink.writableLength > 0) {
      this.held = true;
      this.socket.pause();
    }
  }
}

const waiting = new Map<string, BareEnd>();

const server = createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
  new BareEnd(accepted).socket.resume();
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
