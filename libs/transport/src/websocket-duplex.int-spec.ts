import { once } from 'node:events';
import { type AddressInfo } from 'node:net';

import { WebSocket, WebSocketServer } from 'ws';

import { encodeFrame } from '@switchboard/protocol';
import { WebSocketDuplex, type WebSocketDuplexOptions } from './websocket-duplex';

/** A real WebSocket connection whose server end is wrapped in a WebSocketDuplex. */
async function connect(options?: WebSocketDuplexOptions) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/any/path`);
  const received: Buffer[] = [];
  client.on('message', (data: Buffer) => received.push(data));
  await once(client, 'open');
  const [socket] = await accepted;
  const duplex = new WebSocketDuplex(socket, options);
  const close = async () => {
    client.terminate();
    duplex.destroy();
    await new Promise((resolve) => wss.close(resolve));
  };
  return { client, duplex, received, close };
}

const until = async (condition: () => boolean, timeoutMs = 2_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('WebSocketDuplex', () => {
  it('turns each binary message into one framed chunk and ignores text messages', async () => {
    const { client, duplex, close } = await connect();
    const chunks: Buffer[] = [];
    duplex.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.send(Buffer.from('abc'));
    client.send('text is ignored');
    client.send(Buffer.alloc(0));
    client.send(Buffer.alloc(100, 1));
    await until(() => chunks.length === 3);
    expect(chunks).toEqual([
      encodeFrame(Buffer.from('abc')),
      encodeFrame(Buffer.alloc(0)),
      encodeFrame(Buffer.alloc(100, 1)),
    ]);
    await close();
  });

  it('sends one message per frame written, however the bytes are split', async () => {
    const { duplex, received, close } = await connect();
    const bytes = Buffer.concat([
      encodeFrame(Buffer.from('one')),
      encodeFrame(Buffer.alloc(0)),
      encodeFrame(Buffer.alloc(300, 2)),
    ]);
    duplex.write(bytes.subarray(0, 4));
    duplex.write(bytes.subarray(4, 9));
    duplex.write(bytes.subarray(9));
    await until(() => received.length === 3);
    expect(received).toEqual([Buffer.from('one'), Buffer.alloc(0), Buffer.alloc(300, 2)]);
    await close();
  });

  it('drops empty frames when asked to, as hbbr does', async () => {
    const { duplex, received, close } = await connect({ dropEmptyFrames: true });
    duplex.write(
      Buffer.concat([
        encodeFrame(Buffer.from('a')),
        encodeFrame(Buffer.alloc(0)),
        encodeFrame(Buffer.from('b')),
      ]),
    );
    await until(() => received.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toEqual([Buffer.from('a'), Buffer.from('b')]);
    await close();
  });

  it('ends the readable side when the client closes', async () => {
    const { client, duplex, close } = await connect();
    duplex.resume();
    const ended = once(duplex, 'end');
    client.close(1000);
    await ended;
    await close();
  });

  it('closes the WebSocket when the duplex is ended or destroyed', async () => {
    const first = await connect();
    const closed = once(first.client, 'close');
    first.duplex.end();
    const [code] = (await closed) as [number];
    expect(code).toBe(1000);
    await first.close();

    const second = await connect();
    const dropped = once(second.client, 'close');
    second.duplex.destroy();
    await dropped;
    await second.close();
  });

  it('fails the write on a frame larger than its limit', async () => {
    const { duplex, close } = await connect({ maxFrameBytes: 10 });
    const failed = once(duplex, 'error');
    duplex.write(encodeFrame(Buffer.alloc(11)));
    const [error] = (await failed) as [Error];
    expect(error.message).toBe('frame of 11 bytes exceeds the 10-byte limit');
    await close();
  });
});
