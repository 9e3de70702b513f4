import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

// A TCP forwarder a test can shut or slow down, standing between the signal process and Postgres or
// Redis: shut, it cuts every forwarded connection and drops new ones at once; slowed, it holds each
// new connection before forwarding it. The process sees the dependency go away, come back or lag
// exactly as it would in production, without anything touching the shared servers.

export interface GateTarget {
  readonly host: string;
  readonly port: number;
}

export class TcpGate {
  private readonly pairs = new Set<Socket>();
  private shut = false;
  private holdMs = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: GateTarget): Promise<TcpGate> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const gate = new TcpGate(server, (server.address() as AddressInfo).port);
    server.on('connection', (client) => gate.forward(client, target));
    return gate;
  }

  get isShut(): boolean {
    return this.shut;
  }

  /** Cuts every forwarded connection; new ones are dropped as soon as they are accepted. */
  close(): void {
    this.shut = true;
    for (const socket of this.pairs) socket.destroy();
  }

  open(): void {
    this.shut = false;
    this.holdMs = 0;
  }

  /** Each new connection waits `ms` before it reaches the target (what it sends meanwhile is kept). */
  slowDown(ms: number): void {
    this.holdMs = ms;
  }

  async stop(): Promise<void> {
    this.close();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  private forward(client: Socket, target: GateTarget): void {
    if (this.shut) {
      client.destroy();
      return;
    }
    if (this.holdMs === 0) {
      this.connect(client, target);
      return;
    }
    this.pairs.add(client);
    client.on('error', () => client.destroy());
    const timer = setTimeout(() => {
      if (!client.destroyed) this.connect(client, target);
    }, this.holdMs);
    client.once('close', () => {
      clearTimeout(timer);
      this.pairs.delete(client);
    });
  }

  private connect(client: Socket, target: GateTarget): void {
    const upstream = connect({ host: target.host, port: target.port });
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.pairs.add(socket);
      // Either side failing ends both: what the process must see is a dead connection, not a half one.
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        this.pairs.delete(socket);
        other.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
