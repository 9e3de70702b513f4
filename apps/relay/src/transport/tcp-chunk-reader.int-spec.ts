import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';

import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { encodeFrame, encodeRendezvous, RequestRelay } from '@switchboard/protocol';
import { waitFor } from '@switchboard/test-net';

import { RelayCore } from '../relay-core';
import { RelayServer } from '../server';
import { TcpChunkReader } from './tcp-chunk-reader';

// The TCP read path over real sockets: one reused read buffer per connection, and TCP-to-TCP
// relaying that neither copies nor queues, so a chunk still in flight must never be overwritten.

const logger = createLogger({ name: 'tcp-chunk-reader-test', level: 'silent' });
const MiB = 1024 * 1024;

const opened: Array<Server | Socket> = [];

afterEach(() => {
  for (const handle of opened.splice(0)) {
    if ('destroy' in handle) handle.destroy();
    else handle.close();
  }
});

async function listen(onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    opened.push(socket);
    onConnection(socket);
  });
  opened.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function dial(port: number): Promise<Socket> {
  const socket = createConnection({ host: '127.0.0.1', port });
  opened.push(socket);
  await once(socket, 'connect');
  return socket;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('TcpChunkReader', () => {
  it('delivers a chunk read before the adoption (a dual-mode sniff) first, and waits while paused', async () => {
    const received: Buffer[] = [];
    let reader: TcpChunkReader | undefined;
    const server = await listen((accepted) => {
      // As a dual-mode listener does: read the first chunk the ordinary way, put it back, hand on.
      accepted.once('data', (first: Buffer) => {
        accepted.pause();
        accepted.unshift(first);
        const head = accepted.read() as Buffer;
        reader = TcpChunkReader.adopt(accepted, undefined, head);
        if (reader) opened.push(reader.socket);
        reader?.setHandler((chunk) => {
          received.push(Buffer.from(chunk));
          // The handler may pause on the head itself: nothing more arrives until resumed.
          if (received.length === 1) reader?.pause();
        });
        reader?.resume();
      });
      accepted.resume();
    });
    const client = await dial((server.address() as AddressInfo).port);
    client.write('first chunk|');
    await waitFor(() => received.length === 1);
    client.write('the rest');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received.map(String)).toEqual(['first chunk|']);
    reader?.resume();
    await waitFor(() => Buffer.concat(received).length === 'first chunk|the rest'.length);
    expect(Buffer.concat(received).toString()).toBe('first chunk|the rest');
  });

  it('reads into one buffer, reused while reads are small and grown for a busy connection', async () => {
    const views: Buffer[] = [];
    const received: Buffer[] = [];
    let reader: TcpChunkReader | undefined;
    const server = await listen((accepted) => {
      reader = TcpChunkReader.adopt(accepted, { initialBytes: 4096, maxBytes: 64 * 1024 });
      if (reader) opened.push(reader.socket);
      reader?.setHandler((chunk) => {
        views.push(chunk);
        received.push(Buffer.from(chunk));
      });
      reader?.resume();
    });
    const client = await dial((server.address() as AddressInfo).port);
    const small = Buffer.from('first');
    client.write(small);
    await waitFor(() => received.length === 1, 'the first read');
    client.write(Buffer.from('second'));
    await waitFor(() => received.length === 2, 'the second read');
    expect(reader).toBeDefined();
    expect(views[1]?.buffer === views[0]?.buffer).toBe(true);

    const bulk = randomBytes(4 * MiB);
    client.write(bulk);
    await waitFor(() => Buffer.concat(received).length === small.length + 6 + bulk.length, 'the bulk');
    expect(sha256(Buffer.concat(received).subarray(small.length + 6))).toBe(sha256(bulk));
    const largest = Math.max(...views.map((view) => view.buffer.byteLength));
    expect(largest).toBe(64 * 1024);

    // The server still counts the connection until the adopted socket closes.
    const closed = new Promise((resolve) => server.close(resolve));
    let serverClosed = false;
    void closed.then(() => (serverClosed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(serverClosed).toBe(false);
    client.destroy();
    await closed;
  });

  it('sees the end of the stream and closes like any socket', async () => {
    let reader: TcpChunkReader | undefined;
    const server = await listen((accepted) => {
      reader = TcpChunkReader.adopt(accepted);
      if (reader) opened.push(reader.socket);
      reader?.setHandler(() => undefined);
      reader?.resume();
    });
    const client = await dial((server.address() as AddressInfo).port);
    await waitFor(() => reader !== undefined, 'the adopted socket');
    const ended = once(reader!.socket, 'end');
    client.end();
    await ended;
    await once(reader!.socket, 'close');
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('TCP to TCP through the relay', () => {
  let server: RelayServer;

  afterEach(async () => {
    await server.close(0);
  });

  /** A relay with no limits that matter here, and two TCP clients it has paired under `uuid`. */
  async function pairedThroughRelay(uuid: string): Promise<[Socket, Socket]> {
    const core = new RelayCore({
      logger,
      registry: createMetricsRegistry({ defaultMetrics: false }),
      strict: false,
      bandwidth: { totalMbps: 1_000_000, singleMbps: 1_000_000 },
    });
    server = new RelayServer(core, { ports: { host: '127.0.0.1', port: 0, wsPort: 0 }, logger });
    const { tcp } = await server.start();
    const request = encodeFrame(
      encodeRendezvous({ $case: 'requestRelay', value: RequestRelay.fromPartial({ uuid }) }),
    );
    const [a, b] = await Promise.all([dial(tcp.port), dial(tcp.port)]);
    a.write(request);
    b.write(request);
    await waitFor(() => core.liveSessions === 1, 'the pair');
    return [a, b];
  }

  it('delivers every byte intact both ways at once while the readers keep stalling', async () => {
    const [a, b] = await pairedThroughRelay('integrity');

    // Enough to fill the kernel buffers many times, so the relay's writes often go unfinished and
    // it has to wait before reading into the same buffer again.
    const toB = randomBytes(48 * MiB);
    const toA = randomBytes(48 * MiB);
    const receivedByA = stallingReader(a, toA.length);
    const receivedByB = stallingReader(b, toB.length);
    a.write(toB);
    b.write(toA);
    const [atA, atB] = await Promise.all([receivedByA, receivedByB]);
    expect(atB.length).toBe(toB.length);
    expect(sha256(atB)).toBe(sha256(toB));
    expect(sha256(atA)).toBe(sha256(toA));
    a.destroy();
    b.destroy();
  }, 60_000);

  it('delivers everything a side sent before it hung up, to a reader that is slow to take it', async () => {
    const [a, b] = await pairedThroughRelay('last-words');

    // More than the kernel buffers hold, so the relay still has writes queued when A's end arrives.
    const last = randomBytes(24 * MiB);
    const ended = once(b, 'end');
    const receivedByB = stallingReader(b, last.length);
    a.end(last);
    const atB = await receivedByB;
    expect(sha256(atB)).toBe(sha256(last));
    // Then the relay closes B's side too, as hbbr does once either end is gone.
    await ended;
  }, 60_000);
});

/** Reads `bytes`, pausing for a few ms every 2 MiB like a slow client. */
function stallingReader(socket: Socket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  let nextStall = 2 * MiB;
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= bytes) resolve(Buffer.concat(chunks));
      else if (received >= nextStall) {
        nextStall += 2 * MiB;
        socket.pause();
        setTimeout(() => socket.resume(), 5);
      }
    });
  });
}
