import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

import { WebSocketServer, type WebSocket } from 'ws';

import { FrameCipher } from '@switchboard/crypto';
import { decodeRendezvous, encodeFrame, encodeRendezvous } from '@switchboard/protocol';

import { LinkClosedError, PeerProtocolError, PeerTimeoutError } from './errors';
import { FramedLink } from './framed-link';

// The link under every other piece of the peer, over real loopback sockets.

const REGISTER_PEER = Buffer.from('320b0a09313233343536373839', 'hex'); // docs/protocol.md §2 example

async function tcpServer(): Promise<{ server: Server; port: number; accepted: Promise<Socket> }> {
  const server = createServer();
  const accepted = once(server, 'connection').then(([socket]) => socket as Socket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, accepted };
}

describe('FramedLink over TCP', () => {
  let server: Server;
  let remote: Socket;
  let link: FramedLink;

  beforeEach(async () => {
    const started = await tcpServer();
    server = started.server;
    link = await FramedLink.connectTcp({ host: '127.0.0.1', port: started.port, timeoutMs: 2_000 });
    remote = await started.accepted;
  });
  afterEach(async () => {
    link.close();
    remote.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reassembles frames split across chunks and splits frames sharing one', async () => {
    const stream = Buffer.concat([
      encodeFrame(REGISTER_PEER),
      encodeFrame(Buffer.alloc(0)),
      encodeFrame(Buffer.alloc(70, 7)),
    ]);
    for (const byte of stream.subarray(0, 5)) remote.write(Buffer.of(byte));
    remote.write(stream.subarray(5));

    expect(await link.nextRendezvous(1_000)).toEqual({
      $case: 'registerPeer',
      value: { id: '123456789', serial: 0 },
    });
    expect(await link.nextFrame(1_000)).toEqual(Buffer.alloc(0));
    expect(await link.nextFrame(1_000)).toEqual(Buffer.alloc(70, 7));
  });

  it('writes one BytesCodec frame per message, the empty heartbeat included', async () => {
    const received: Buffer[] = [];
    remote.on('data', (chunk: Buffer) => received.push(chunk));
    await link.sendFrame(REGISTER_PEER);
    await link.sendFrame(new Uint8Array(0));
    await waitUntil(() => Buffer.concat(received).length === 15);
    expect(Buffer.concat(received).toString('hex')).toBe(`34${REGISTER_PEER.toString('hex')}00`);
  });

  it('keeps a frame that arrives after its reader timed out for the next reader', async () => {
    await expect(link.nextFrame(50, 'early read')).rejects.toBeInstanceOf(PeerTimeoutError);
    remote.write(encodeFrame(REGISTER_PEER));
    expect(await link.nextFrame(1_000)).toEqual(REGISTER_PEER);
  });

  it('hands out what arrived before the close, then reports the close', async () => {
    remote.end(encodeFrame(REGISTER_PEER));
    await link.closed;
    expect(link.isClosed).toBe(true);
    expect(await link.nextFrame(1_000)).toEqual(REGISTER_PEER);
    await expect(link.nextFrame(1_000)).rejects.toBeInstanceOf(LinkClosedError);
    await expect(link.sendFrame(REGISTER_PEER)).rejects.toBeInstanceOf(LinkClosedError);
  });

  it('seals and opens with a cipher, and closes on a frame that does not decrypt', async () => {
    const key = new Uint8Array(32).fill(4);
    const serverSide = FramedLink.fromSocket(remote);
    serverSide.useCipher(new FrameCipher(key));
    link.useCipher(new FrameCipher(key));

    await link.sendFrame(REGISTER_PEER);
    expect(await serverSide.nextFrame(1_000)).toEqual(REGISTER_PEER);
    await serverSide.sendFrame(new Uint8Array(0)); // heartbeats stay plaintext and empty
    expect(await link.nextFrame(1_000)).toEqual(Buffer.alloc(0));

    remote.write(encodeFrame(Buffer.alloc(40, 9)));
    await expect(link.nextFrame(1_000)).rejects.toBeInstanceOf(PeerProtocolError);
    await link.closed;
  });
});

describe('FramedLink over WebSocket', () => {
  let wss: WebSocketServer;
  let url: string;
  let remote: Promise<WebSocket>;

  beforeEach(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws/id`;
    remote = once(wss, 'connection').then(([socket]) => socket as WebSocket);
  });
  afterEach(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  it('carries one bare message per binary WebSocket message and ignores text', async () => {
    const link = await FramedLink.connectWebSocket(url, { localAddress: '127.0.0.2', timeoutMs: 2_000 });
    const socket = await remote;
    const received = once(socket, 'message');
    await link.sendRendezvous({ $case: 'registerPeer', value: { id: '123456789', serial: 0 } });
    const [data, isBinary] = await received;
    expect(isBinary).toBe(true);
    expect(Buffer.from(data as Buffer)).toEqual(REGISTER_PEER);

    socket.send('not a frame');
    socket.send(encodeRendezvous({ $case: 'registerPeerResponse', value: { requestPk: true } }));
    const reply = decodeRendezvous(await link.nextFrame(1_000));
    expect(reply).toEqual({
      ok: true,
      payload: { $case: 'registerPeerResponse', value: { requestPk: true } },
    });
    expect(link.local.address).toBe('127.0.0.2');
    link.close();
    await link.closed;
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
