import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';

import { chunkWriterFor } from './choose-chunk-writer';
import { type ChunkWriter, SocketChunkWriter, StreamChunkWriter } from './chunk-writer';
import { HandleChunkWriter } from './handle-chunk-writer';

// The write side of the relay's pipes over real sockets: a writer must be done with a chunk's memory
// when it says so, because the relay reads the next chunk into the same buffer.

const MiB = 1024 * 1024;
const opened: Array<Server | Socket> = [];

afterEach(() => {
  for (const handle of opened.splice(0)) {
    if ('destroy' in handle) handle.destroy();
    else handle.close();
  }
});

/** A connected pair: `writing` is the accepted end the writer writes to, `reading` the dialled one. */
async function socketPair(): Promise<{ writing: Socket; reading: Socket }> {
  const server = createServer();
  opened.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const reading = createConnection({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  opened.push(reading);
  const [writing] = await accepted;
  opened.push(writing);
  return { writing, reading };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Sends `data` through `writer` as the relay does: every chunk is copied into one reused buffer, and
 * the next is copied in only once the writer said it is free (at once, or through the ready handler).
 * Resolves with how many writes had to wait.
 */
function sendThroughReusedBuffer(writer: ChunkWriter, data: Buffer, chunkBytes: number): Promise<number> {
  const buffer = Buffer.allocUnsafeSlow(chunkBytes);
  let offset = 0;
  let waits = 0;
  return new Promise((resolve) => {
    const sendSome = (): void => {
      while (offset < data.length) {
        const length = data.copy(buffer, 0, offset, Math.min(offset + chunkBytes, data.length));
        offset += length;
        if (!writer.write(buffer.subarray(0, length))) {
          waits++;
          return;
        }
      }
      resolve(waits);
    };
    writer.setReadyHandler(sendSome);
    sendSome();
  });
}

/** Reads `bytes` with a pause every 1 MiB, so the writer keeps running into a full socket. */
async function readSlowly(socket: Socket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  let nextStall = MiB;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
    if (received >= nextStall) {
      nextStall += MiB;
      socket.pause();
      setTimeout(() => socket.resume(), 5);
    }
  });
  while (received < bytes) await once(socket, 'data');
  return Buffer.concat(chunks);
}

const socketWriters: Array<[string, (socket: Socket) => ChunkWriter]> = [
  [
    'HandleChunkWriter',
    (socket) => {
      const writer = HandleChunkWriter.forSocket(socket);
      if (writer === undefined) throw new Error('this Node offers no handle writes');
      return writer;
    },
  ],
  ['SocketChunkWriter', (socket) => new SocketChunkWriter(socket)],
];

describe('writing a TCP socket', () => {
  it('goes through the socket handle on this Node', async () => {
    const { writing } = await socketPair();
    expect(chunkWriterFor(writing, true)).toBeInstanceOf(HandleChunkWriter);
  });

  describe.each(socketWriters)('%s', (_name, writerFor) => {
    it('takes small chunks at once and delivers them in order', async () => {
      const { writing, reading } = await socketPair();
      const writer = writerFor(writing);
      const received: Buffer[] = [];
      reading.on('data', (chunk: Buffer) => received.push(chunk));
      const messages = Array.from({ length: 100 }, (_, index) => Buffer.from(`message ${index};`));
      for (const message of messages) expect(writer.write(message)).toBe(true);
      const total = Buffer.concat(messages);
      while (Buffer.concat(received).length < total.length) await once(reading, 'data');
      expect(Buffer.concat(received).equals(total)).toBe(true);
    });

    it('keeps a chunk the kernel did not take until it is written, then says so once', async () => {
      const { writing, reading } = await socketPair();
      const writer = writerFor(writing);
      const data = randomBytes(32 * MiB);
      const [waits, received] = await Promise.all([
        sendThroughReusedBuffer(writer, data, 256 * 1024),
        readSlowly(reading, data.length),
      ]);
      expect(waits).toBeGreaterThan(0);
      expect(received.length).toBe(data.length);
      expect(sha256(received)).toBe(sha256(data));
    }, 30_000);

    it('ends the connection with the error when the peer is gone, and never says ready', async () => {
      const { writing, reading } = await socketPair();
      // Not reading, so the reset is seen by the writes, not by a read first.
      writing.pause();
      const writer = writerFor(writing);
      let ready = 0;
      writer.setReadyHandler(() => ready++);
      const failed = once(writing, 'error') as Promise<[NodeJS.ErrnoException]>;
      reading.resetAndDestroy();
      await once(reading, 'close');
      const chunk = Buffer.alloc(64 * 1024);
      // The first writes after a reset may still be accepted before the kernel reports it.
      for (let attempt = 0; attempt < 100 && !writing.destroyed; attempt++) {
        writer.write(chunk);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const [error] = await failed;
      expect(['EPIPE', 'ECONNRESET']).toContain(error.code);
      expect(writing.destroyed).toBe(true);
      expect(writer.write(chunk)).toBe(false);
      expect(ready).toBe(0);
    });
  });
});

describe('StreamChunkWriter', () => {
  it('copies borrowed chunks, since the stream keeps what it buffers', () => {
    const stream = new PassThrough();
    const writer = new StreamChunkWriter(stream, true);
    const buffer = Buffer.from('first');
    writer.write(buffer);
    buffer.write('later');
    expect((stream.read() as Buffer).toString()).toBe('first');
  });

  it('says ready on drain once its buffer was full', async () => {
    const stream = new PassThrough({ highWaterMark: 1024 });
    const writer = new StreamChunkWriter(stream, false);
    let ready = 0;
    writer.setReadyHandler(() => ready++);
    expect(writer.write(Buffer.alloc(512))).toBe(true);
    expect(writer.write(Buffer.alloc(2048))).toBe(false);
    stream.resume();
    await once(stream, 'drain');
    expect(ready).toBe(1);
  });
});
