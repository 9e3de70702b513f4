import { createConnection, createServer, type Server, type Socket } from 'node:net';

// A TCP proxy in front of the test Postgres for two things no mock could show honestly: an outage
// (cut() drops every connection and refuses new ones until restore()), and how many statements
// reach the server (it reads the client's side of the wire protocol and notes each execution).

const STARTUP_CODES = new Set([196608]);

export class PostgresProxy {
  /** SQL of each statement the server was asked to execute, in order (one per Bind or simple Query). */
  readonly statements: string[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(private readonly target = { host: '127.0.0.1', port: 5432 }) {}

  /** Listens on an ephemeral port (the same one again after a cut). */
  async start(): Promise<void> {
    const server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
    this.port = address.port;
    this.server = server;
  }

  /** The test database's URL, through this proxy. */
  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.host = `127.0.0.1:${this.port}`;
    return url.toString();
  }

  /** Postgres "goes away": open connections are reset and new ones refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restore(): Promise<void> {
    await this.start();
  }

  async close(): Promise<void> {
    await this.cut();
  }

  /** Statements whose SQL matches, e.g. /^\s*INSERT INTO devices/. */
  count(pattern: RegExp): number {
    return this.statements.filter((sql) => pattern.test(sql)).length;
  }

  private pipe(client: Socket): void {
    const upstream = createConnection(this.target);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const reader = new FrontendMessageReader((sql) => this.statements.push(sql));
    client.on('data', (chunk: Buffer) => reader.push(chunk));
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  }
}

/**
 * Reads the frontend (client → server) side of the Postgres protocol v3: untyped startup packets,
 * then `type(1) length(4) body`. Parse ('P') names a statement's SQL, Bind ('B') executes one, a
 * simple Query ('Q') is one execution of its text.
 */
class FrontendMessageReader {
  private buffer = Buffer.alloc(0);
  private started = false;
  private readonly prepared = new Map<string, string>();

  constructor(private readonly onStatement: (sql: string) => void) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.started) {
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        this.started = STARTUP_CODES.has(this.buffer.readInt32BE(4));
        this.buffer = this.buffer.subarray(length);
        continue;
      }
      if (this.buffer.length < 5) return;
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return;
      this.handle(String.fromCharCode(this.buffer[0] ?? 0), this.buffer.subarray(5, 1 + length));
      this.buffer = this.buffer.subarray(1 + length);
    }
  }

  private handle(type: string, body: Buffer): void {
    if (type === 'Q') {
      this.onStatement(cString(body, 0).text);
    } else if (type === 'P') {
      const name = cString(body, 0);
      this.prepared.set(name.text, cString(body, name.next).text);
    } else if (type === 'B') {
      const portal = cString(body, 0);
      const statement = cString(body, portal.next).text;
      this.onStatement(this.prepared.get(statement) ?? `<unknown statement ${statement}>`);
    }
  }
}

function cString(buffer: Buffer, start: number): { text: string; next: number } {
  const end = buffer.indexOf(0, start);
  return { text: buffer.toString('utf8', start, end), next: end + 1 };
}
