// A load-generator process for the concurrent-sessions part of bench/relay (forked by main.ts, so its
// event loop is not the relay's). It holds both ends of its sessions: the sender writes fixed-size
// messages stamped with performance.now() at the moment of the write, the receiver stamps their
// arrival, so both clocks are the same clock. Commands and reports go over the IPC channel.
import { type OnReadOpts, type Socket } from 'node:net';

import { dial, joinRelay, listenLocal, portOf } from './endpoints';
import { LatencyHistogram, type HistogramData } from './latency-histogram';

export type WorkerCommand =
  | {
      kind: 'connect';
      /** `relay`: both ends join the relay under one uuid; `direct`: the sender dials the receiver. */
      path: 'relay' | 'direct';
      relayPort: number;
      sessions: number;
      uuidPrefix: string;
      messageBytes: number;
    }
  | {
      kind: 'run';
      messagesPerSecond: number;
      warmupMs: number;
      measureMs: number;
    }
  | { kind: 'close' };

export type WorkerReport =
  | { kind: 'connected'; sessions: number; ms: number }
  | {
      kind: 'ran';
      /** Messages written inside the measuring window, and how many of those arrived. */
      sent: number;
      received: number;
      histogram: HistogramData;
    }
  | { kind: 'closed' };

const TICK_MS = 2;
const CONNECT_BATCH = 25;
const DRAIN_MS = 1000;
const HELLO = -1;

// The load must not stall itself: with a fresh buffer per read and per write (Node's defaults),
// 20,000 messages a second made V8 collect for "external memory pressure" every ~0.7 s, and now and
// then run a full mark-compact of 10-30 ms, which showed up as the relay's tail. So receivers read
// into one buffer of this worker's (each chunk is copied out before the next read), and a sender
// rewrites its own message buffer whenever its last write has left.
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

/** Reassembles fixed-size messages from whatever chunks TCP delivers, and hands out their stamps. */
class MessageAssembler {
  private readonly whole: Buffer;
  private filled = 0;
  readonly onread: OnReadOpts;

  constructor(
    private readonly messageBytes: number,
    private readonly onMessage: (sentAt: number, now: number) => void,
  ) {
    this.whole = Buffer.alloc(messageBytes);
    this.onread = {
      buffer: READ_BUFFER,
      callback: (bytes) => {
        this.take(bytes);
        return true;
      },
    };
  }

  private take(bytes: number): void {
    const now = performance.now();
    let offset = 0;
    while (offset < bytes) {
      const take = Math.min(this.messageBytes - this.filled, bytes - offset);
      READ_BUFFER.copy(this.whole, this.filled, offset, offset + take);
      this.filled += take;
      offset += take;
      if (this.filled === this.messageBytes) {
        this.filled = 0;
        this.onMessage(this.whole.readDoubleLE(0), now);
      }
    }
  }
}

class Session {
  private message: Buffer;

  /** Resolves when the hello, written at once, came out of the far end: the session is paired. */
  readonly paired: Promise<void>;

  constructor(
    readonly sender: Socket,
    readonly receiver: Socket,
    hello: Promise<void>,
    messageBytes: number,
  ) {
    this.message = Buffer.alloc(messageBytes, 0x5a);
    this.paired = hello;
    this.send(HELLO);
  }

  /** Writes one message stamped with the time of the write (or with `stamp`); returns the stamp. */
  send(stamp?: number): number {
    // A buffer still queued for the kernel must not change under it: then this message gets a new one.
    if (this.sender.writableLength > 0) this.message = Buffer.alloc(this.message.length, 0x5a);
    const sentAt = stamp ?? performance.now();
    this.message.writeDoubleLE(sentAt, 0);
    this.sender.write(this.message);
    return sentAt;
  }
}

class SessionLoad {
  private sessions: Session[] = [];
  private windowStart = Infinity;
  private windowEnd = -Infinity;
  private sent = 0;
  private received = 0;
  private readonly histogram = new LatencyHistogram();

  async connect(command: Extract<WorkerCommand, { kind: 'connect' }>): Promise<WorkerReport> {
    const started = performance.now();
    const server =
      command.path === 'direct' ? await listenLocal((socket) => this.accepted.push(socket)) : undefined;
    for (let first = 0; first < command.sessions; first += CONNECT_BATCH) {
      const batch = Array.from({ length: Math.min(CONNECT_BATCH, command.sessions - first) }, (_, index) =>
        server
          ? this.connectDirect(portOf(server), command.messageBytes)
          : this.connectRelay(
              command.relayPort,
              `${command.uuidPrefix}-${first + index}`,
              command.messageBytes,
            ),
      );
      this.sessions.push(...(await Promise.all(batch)));
    }
    await Promise.all(this.sessions.map((session) => session.paired));
    server?.close();
    return { kind: 'connected', sessions: this.sessions.length, ms: performance.now() - started };
  }

  async run(command: Extract<WorkerCommand, { kind: 'run' }>): Promise<WorkerReport> {
    const { messagesPerSecond, warmupMs, measureMs } = command;
    const periodMs = 1000 / messagesPerSecond;
    // Sessions are spread over the slots of one period so the load is smooth, not 30 bursts a second.
    const slots = Math.max(1, Math.round(periodMs / TICK_MS));
    const slotMs = periodMs / slots;
    const start = performance.now();
    this.windowStart = start + warmupMs;
    this.windowEnd = this.windowStart + measureMs;
    let nextSlot = 0;
    await new Promise<void>((done) => {
      const timer = setInterval(() => {
        const now = performance.now();
        if (now >= this.windowEnd) {
          clearInterval(timer);
          done();
          return;
        }
        // Catch up on every slot that is due, so a late timer lowers no rate.
        const due = Math.floor((now - start) / slotMs);
        for (; nextSlot <= due; nextSlot++) {
          for (let index = nextSlot % slots; index < this.sessions.length; index += slots) {
            const sentAt = (this.sessions[index] as Session).send();
            if (sentAt >= this.windowStart) this.sent++;
          }
        }
      }, TICK_MS);
    });
    await new Promise((done) => setTimeout(done, DRAIN_MS));
    return { kind: 'ran', sent: this.sent, received: this.received, histogram: this.histogram.data() };
  }

  close(): WorkerReport {
    for (const session of this.sessions) {
      session.sender.destroy();
      session.receiver.destroy();
    }
    this.sessions = [];
    return { kind: 'closed' };
  }

  private readonly accepted: Socket[] = [];

  private readonly record = (sentAt: number, now: number): void => {
    if (sentAt < this.windowStart || sentAt >= this.windowEnd) return;
    this.received++;
    this.histogram.add(now - sentAt);
  };

  private async connectRelay(relayPort: number, uuid: string, messageBytes: number): Promise<Session> {
    const { assembler, hello } = this.assembler(messageBytes);
    const receiver = await joinRelay(relayPort, uuid, '', assembler.onread);
    const sender = await joinRelay(relayPort, uuid, 'bench-controller');
    return new Session(sender, receiver, hello, messageBytes);
  }

  /**
   * The receiver dials (so it can read into the shared buffer) and the accepted socket sends.
   * Connections are accepted in order within a batch only by luck, so pair by the dialer's port.
   */
  private async connectDirect(port: number, messageBytes: number): Promise<Session> {
    const { assembler, hello } = this.assembler(messageBytes);
    const receiver = await dial(port, assembler.onread);
    const sender = await this.acceptedFrom(receiver.localPort ?? 0);
    return new Session(sender, receiver, hello, messageBytes);
  }

  /** The hello (the first message) resolves `hello`; later ones are measured. */
  private assembler(messageBytes: number): { assembler: MessageAssembler; hello: Promise<void> } {
    let helloArrived: () => void = () => undefined;
    const hello = new Promise<void>((done) => (helloArrived = done));
    const assembler = new MessageAssembler(messageBytes, (sentAt, now) =>
      sentAt === HELLO ? helloArrived() : this.record(sentAt, now),
    );
    return { assembler, hello };
  }

  private async acceptedFrom(localPort: number): Promise<Socket> {
    for (;;) {
      const index = this.accepted.findIndex((socket) => socket.remotePort === localPort);
      if (index >= 0) return this.accepted.splice(index, 1)[0] as Socket;
      await new Promise((done) => setImmediate(done));
    }
  }
}

const load = new SessionLoad();

async function handle(command: WorkerCommand): Promise<WorkerReport> {
  switch (command.kind) {
    case 'connect':
      return load.connect(command);
    case 'run':
      return load.run(command);
    case 'close':
      return load.close();
  }
}

process.on('message', (command: WorkerCommand) => {
  handle(command).then(
    (report) => process.send?.(report),
    (error: unknown) => {
      console.error('session worker failed:', error);
      process.exit(1);
    },
  );
});
process.on('disconnect', () => process.exit(0));
