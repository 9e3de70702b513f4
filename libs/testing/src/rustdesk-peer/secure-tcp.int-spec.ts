import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

import nacl from 'tweetnacl';

import { decodeRendezvous, encodeFrame, encodeRendezvous, FrameDecoder } from '@switchboard/protocol';

import { PeerTimeoutError } from './errors';
import { FramedLink } from './framed-link';
import { secureTcp, SecureTcpError } from './secure-tcp';

// The client side of secure TCP against a tiny hbbs written here from docs/protocol.md §4 and its
// vectors (tweetnacl directly, not our server-side SecureChannel), over a real loopback socket.

const RFC_SECRET_KEY = Buffer.from(
  'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==',
  'base64',
);
const RFC_PUBLIC_KEY = Buffer.from('11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=', 'base64');
const SERVER_BOX = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(2));
const CLIENT_BOX_SECRET = new Uint8Array(32).fill(3);
const SESSION_KEY = new Uint8Array(32).fill(4);
const SEALED_SESSION_KEY =
  'eb0695edf1b0a61ffc663c80123c2c44e0b2f0dd3e5855f492b88bafcd4948b6ab0a8f1097831986f4657d2fea6fa621';
const SEALED_REGISTER_PEER = '00180ca123a9dbd6efe801dc87f5de45dc0bee7e67c137628c04150395';

/** hbbs's side of one connection: whatever `greet` sends first, then every frame it receives. */
async function fakeHbbs(greet: (socket: Socket) => void): Promise<{
  server: Server;
  port: number;
  frames: Promise<Buffer[]>;
  socket: Promise<Socket>;
}> {
  const server = createServer();
  const frames: Buffer[] = [];
  let resolveFrames!: (frames: Buffer[]) => void;
  const framesDone = new Promise<Buffer[]>((resolve) => (resolveFrames = resolve));
  const socket = new Promise<Socket>((resolve) =>
    server.on('connection', (connection) => {
      const decoder = new FrameDecoder(1 << 16);
      connection.on('data', (chunk: Buffer) => {
        frames.push(...decoder.push(chunk));
        if (frames.length >= 2) resolveFrames(frames);
      });
      greet(connection);
      resolve(connection);
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, frames: framesDone, socket };
}

function keyExchangeFrame(keys: Uint8Array[]): Buffer {
  return encodeFrame(
    encodeRendezvous({ $case: 'keyExchange', value: { keys: keys.map((key) => Buffer.from(key)) } }),
  );
}

describe('secureTcp (client side)', () => {
  const servers: Server[] = [];
  const links: FramedLink[] = [];
  const connect = async (port: number): Promise<FramedLink> => {
    const link = await FramedLink.connectTcp({ host: '127.0.0.1', port, timeoutMs: 2_000 });
    links.push(link);
    return link;
  };
  afterEach(async () => {
    for (const link of links.splice(0)) link.close();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('reproduces the spec vectors: verified server key, sealed session key, first sealed frame', async () => {
    const signedBoxKey = nacl.sign(SERVER_BOX.publicKey, RFC_SECRET_KEY);
    expect(Buffer.from(signedBoxKey).subarray(0, 8).toString('hex')).toBe('a0f354085ce790c8');
    const hbbs = await fakeHbbs((socket) => socket.write(keyExchangeFrame([signedBoxKey])));
    servers.push(hbbs.server);
    const link = await connect(hbbs.port);
    const randoms = [CLIENT_BOX_SECRET, SESSION_KEY];

    const result = await secureTcp(link, {
      serverKey: RFC_PUBLIC_KEY,
      timeoutMs: 2_000,
      random: () => randoms.shift() ?? new Uint8Array(0),
    });
    expect(result).toBe('secured');
    expect(link.secured).toBe(true);
    await link.sendRendezvous({ $case: 'registerPeer', value: { id: '123456789', serial: 0 } });

    const [answer, sealed] = await hbbs.frames;
    const decoded = decodeRendezvous(answer ?? Buffer.alloc(0));
    if (!decoded.ok || decoded.payload.$case !== 'keyExchange') throw new Error('expected KeyExchange');
    const [clientBoxKey, sealedKey] = decoded.payload.value.keys;
    expect(clientBoxKey?.toString('hex')).toMatch(/^5dfedd3b.*ef22$/);
    expect(sealedKey?.toString('hex')).toBe(SEALED_SESSION_KEY);
    expect(sealed?.toString('hex')).toBe(SEALED_REGISTER_PEER);
    // And the server can open it the way hbbs does.
    const opened = nacl.box.open(
      sealedKey ?? new Uint8Array(0),
      new Uint8Array(24),
      clientBoxKey ?? new Uint8Array(0),
      SERVER_BOX.secretKey,
    );
    expect(Buffer.from(opened ?? [])).toEqual(Buffer.from(SESSION_KEY));

    // Server → client uses its own counter, starting at 1 as well.
    const nonce = new Uint8Array(24);
    nonce[0] = 1;
    const reply = encodeRendezvous({ $case: 'registerPeerResponse', value: { requestPk: true } });
    (await hbbs.socket).write(encodeFrame(nacl.secretbox(reply, nonce, SESSION_KEY)));
    expect(await link.nextRendezvous(1_000)).toEqual({
      $case: 'registerPeerResponse',
      value: { requestPk: true },
    });
  });

  it('refuses a server key not signed by the configured Key, as the client does', async () => {
    const stranger = nacl.sign.keyPair();
    const hbbs = await fakeHbbs((socket) =>
      socket.write(keyExchangeFrame([nacl.sign(SERVER_BOX.publicKey, stranger.secretKey)])),
    );
    servers.push(hbbs.server);
    const link = await connect(hbbs.port);
    const failure = secureTcp(link, { serverKey: RFC_PUBLIC_KEY, timeoutMs: 2_000 });
    await expect(failure).rejects.toBeInstanceOf(SecureTcpError);
    await expect(failure).rejects.toMatchObject({ reason: 'bad-signature' });
    expect(link.secured).toBe(false);
  });

  it('stays in the clear when the first frame is not a KeyExchange, and fails on a silent server', async () => {
    const talkative = await fakeHbbs((socket) =>
      socket.write(
        encodeFrame(encodeRendezvous({ $case: 'registerPeerResponse', value: { requestPk: false } })),
      ),
    );
    const silent = await fakeHbbs(() => undefined);
    servers.push(talkative.server, silent.server);

    expect(
      await secureTcp(await connect(talkative.port), { serverKey: RFC_PUBLIC_KEY, timeoutMs: 2_000 }),
    ).toBe('not-offered');
    await expect(
      secureTcp(await connect(silent.port), { serverKey: RFC_PUBLIC_KEY, timeoutMs: 200 }),
    ).rejects.toBeInstanceOf(PeerTimeoutError);
  });
});
