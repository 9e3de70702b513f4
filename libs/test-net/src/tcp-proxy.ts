import { once } from 'node:events';
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A real TCP hop between a client and a server (Redis, mostly) that a test can cut and restore on the
 * same port, so "Redis is down" is a refused connection as in production, without stopping the shared
 * Redis; or stall, so it hangs.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Map<Socket, Socket>();
  private listenPort = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await proxy.listen();
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.listenPort}`;
  }

  /** Drops every open connection and refuses new ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.clients.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Keeps connections open but stops forwarding what clients send: a Redis that hangs. */
  stall(): void {
    for (const [client, upstream] of this.clients) {
      client.unpipe(upstream);
      client.pause();
    }
  }

  resume(): void {
    for (const [client, upstream] of this.clients) client.pipe(upstream);
  }

  async restore(): Promise<void> {
    if (!this.server) await this.listen();
  }

  close(): Promise<void> {
    return this.cut();
  }

  private async listen(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        // A cut connection errors on both ends; that is the point of the cut.
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      this.clients.set(client, upstream);
      client.on('close', () => {
        this.clients.delete(client);
        upstream.destroy();
      });
      upstream.on('close', () => client.destroy());
    });
    server.listen(this.listenPort, '127.0.0.1');
    await once(server, 'listening');
    this.listenPort = (server.address() as AddressInfo).port;
    this.server = server;
  }
}
