import { once } from 'node:events';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls, type TLSSocket } from 'node:tls';

import { encodeFrame, encodeFrameHeader, RegisterPkResponse_Result } from '@switchboard/protocol';
import { metric, streamPair, waitFor } from '@switchboard/test-net';
import { RustDeskPeer } from '@switchboard/testing';
import { ThrowawayCa } from '@switchboard/tls';

import { startTlsSignal, type TlsSignal, type TlsSignalOptions } from './test/tls-fixture';

// Hostile and broken clients on a dual-mode signal port: each is closed and counted, the listener
// keeps serving everyone else, and the certificate can be replaced under live connections.

jest.setTimeout(60_000);

const HANDSHAKE_TIMEOUT_MS = 500;

describe('dual-mode signal ports under bad input', () => {
  let keyDir: string;
  let ca: ThrowawayCa;
  let clientHello: Buffer;
  let signal: TlsSignal | undefined;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'signal-tls-bad-'));
    ca = await ThrowawayCa.create();
    clientHello = await captureClientHello();
  });
  afterAll(async () => {
    await ca.dispose();
    await rm(keyDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await signal?.close();
    signal = undefined;
  });

  async function start(options: Partial<TlsSignalOptions> = {}): Promise<TlsSignal> {
    signal = await startTlsSignal({
      tcpMode: 'dual',
      keyDir,
      ca,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      ...options,
    });
    return signal;
  }

  function tcp(port: number, localAddress = '127.0.0.1'): Socket {
    const socket = createConnection({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => undefined);
    sockets.push(socket);
    return socket;
  }

  function tlsClient(port: number, options: { servername?: string; localAddress?: string } = {}): TLSSocket {
    const socket = connectTls({
      socket: tcp(port, options.localAddress),
      ca: ca.certPem,
      servername: options.servername ?? 'localhost',
      // An unknown SNI gets the certificate anyway, which then does not name what was asked.
      rejectUnauthorized: options.servername === undefined,
    });
    socket.on('error', () => undefined);
    sockets.push(socket);
    return socket;
  }

  /** Resolves when the server has closed the socket (or reset it). */
  function closed(socket: Socket): Promise<void> {
    return new Promise((resolve) => {
      if (socket.destroyed) resolve();
      else socket.once('close', () => resolve());
    });
  }

  const handshakes = (result: string, listener = 'tcp') =>
    metric(signal!.harness.registry, 'switchboard_tls_handshakes_total', { listener, result });

  /** A plain client and a TLS client, each from its own address, both answered on 21116. */
  async function othersStillServed(running: TlsSignal, base: string): Promise<void> {
    const plain = tcp(running.port, `${base}.11`);
    const [keyExchange] = (await once(plain, 'data')) as [Buffer];
    expect(keyExchange.length).toBeGreaterThan(2);
    const secured = tlsClient(running.port, { localAddress: `${base}.12` });
    await once(secured, 'secureConnect');
    const [inside] = (await once(secured, 'data')) as [Buffer];
    expect(inside.equals(keyExchange)).toBe(false);
    expect(inside.length).toBeGreaterThan(2);
  }

  it('times out a silent client as before: closed on 21115, offered secure TCP on 21116 then closed', async () => {
    const running = await start({ limits: { messageTimeoutMs: 400 } });
    const natTest = tcp(running.port - 1);
    const rendezvous = tcp(running.port);
    const [offer] = (await once(rendezvous, 'data')) as [Buffer];
    expect(offer.length).toBeGreaterThan(2);
    await Promise.all([closed(natTest), closed(rendezvous)]);
    expect(
      await metric(running.harness.registry, 'switchboard_signal_connections_closed_total', {
        reason: 'timeout',
      }),
    ).toBe(1);
    expect(await metric(running.harness.registry, 'switchboard_tls_handshakes_total')).toBe(0);
  });

  it('closes garbage after a 0x16 byte and counts a failed handshake', async () => {
    const running = await start();
    const socket = tcp(running.port);
    await once(socket, 'connect');
    socket.write(Buffer.concat([Buffer.from([0x16]), Buffer.alloc(64, 0xa5)]));
    await closed(socket);
    expect(await handshakes('failed')).toBe(1);
    await othersStillServed(running, '127.0.20');
  });

  it('times out a truncated ClientHello followed by silence, and counts it', async () => {
    const running = await start();
    const socket = tcp(running.port - 1);
    await once(socket, 'connect');
    socket.write(clientHello.subarray(0, 20));
    await closed(socket);
    expect(await handshakes('timeout', 'nat-test')).toBe(1);
    expect(await metric(running.harness.registry, 'switchboard_signal_connections_accepted_total')).toBe(0);
  });

  it('times out a handshake dribbled slower than the handshake timeout', async () => {
    const running = await start();
    const socket = tcp(running.port);
    await once(socket, 'connect');
    let sent = 0;
    const dribble = setInterval(() => {
      if (sent < clientHello.length && !socket.destroyed) socket.write(clientHello.subarray(sent, ++sent));
    }, 50);
    await closed(socket);
    clearInterval(dribble);
    expect(sent).toBeLessThan(clientHello.length);
    expect(await handshakes('timeout')).toBe(1);
  });

  it('serves a client whose SNI names another host, and counts the name', async () => {
    const running = await start();
    const socket = tlsClient(running.port, { servername: 'not-this-server.example' });
    await once(socket, 'secureConnect');
    // Served: the core's KeyExchange offer arrives inside TLS.
    const [offer] = (await once(socket, 'data')) as [Buffer];
    expect(offer.length).toBeGreaterThan(2);
    expect(await handshakes('ok')).toBe(1);
    expect(
      await metric(running.harness.registry, 'switchboard_tls_unknown_server_names_total', {
        listener: 'tcp',
      }),
    ).toBe(1);
  });

  it('closes a client that completes TLS and then sends plain frames', async () => {
    const running = await start();
    // The client's TLS runs over an in-memory pair relayed to the socket, so bytes outside any TLS
    // record can go onto the same wire.
    const raw = tcp(running.port);
    await once(raw, 'connect');
    const { client: wire, server: tlsSide } = streamPair();
    wire.on('data', (chunk: Buffer) => raw.write(chunk));
    raw.on('data', (chunk: Buffer) => wire.write(chunk));
    const secured = connectTls({ socket: tlsSide, ca: ca.certPem, servername: 'localhost' });
    secured.on('error', () => undefined);
    await once(secured, 'secureConnect');
    await waitFor(
      async () =>
        (await metric(running.harness.registry, 'switchboard_signal_connections_open', {
          listener: 'tcp',
        })) === 1,
    );
    // A plain frame (an empty RendezvousMessage would do; any bytes that are not a TLS record).
    raw.write(encodeFrame(Buffer.from('a plain frame after TLS')));
    await closed(raw);
    await waitFor(
      async () =>
        (await metric(running.harness.registry, 'switchboard_signal_connections_closed_total', {
          reason: 'stream-error',
        })) === 1,
    );
  });

  it('closes a TLS client announcing a frame larger than the limit', async () => {
    const running = await start();
    const secured = tlsClient(running.port);
    await once(secured, 'secureConnect');
    secured.write(encodeFrameHeader(1 << 24));
    await closed(secured);
    expect(
      await metric(running.harness.registry, 'switchboard_signal_connections_closed_total', {
        reason: 'frame-too-large',
      }),
    ).toBe(1);
  });

  it('holds the per-IP cap against 1,000 handshakes from one address; others are still served', async () => {
    const running = await start({
      limits: { maxConnectionsPerIp: 100, newConnectionsPerIp: 10_000 },
      handshakeTimeoutMs: 10_000,
    });
    const flood = Array.from({ length: 1_000 }, () => {
      const socket = tcp(running.port, '127.0.30.1');
      // A ClientHello cut short: each admitted one holds a pending handshake.
      socket.once('connect', () => socket.write(clientHello.subarray(0, 40)));
      return socket;
    });
    await waitFor(
      async () =>
        (await metric(running.harness.registry, 'switchboard_signal_refusals_total', {
          reason: 'connection-limit',
        })) >= 900,
      'the flood refused',
      20_000,
    );
    await othersStillServed(running, '127.0.30');
    // The admitted part of the flood still holds its slots and pending handshakes here.
    expect(
      await metric(running.harness.registry, 'switchboard_signal_refusals_total', {
        reason: 'connection-limit',
      }),
    ).toBeGreaterThanOrEqual(900);
    expect(flood.filter((socket) => !socket.destroyed).length).toBeLessThanOrEqual(100);
    expect(await handshakes('busy')).toBe(0);
    for (const socket of flood) socket.destroy();
  });

  it('refuses handshakes beyond the pending cap and counts them busy', async () => {
    const running = await start({ maxPendingHandshakes: 5 });
    const stalled = Array.from({ length: 20 }, () => {
      const socket = tcp(running.port, '127.0.31.1');
      socket.once('connect', () => socket.write(clientHello.subarray(0, 40)));
      return socket;
    });
    await waitFor(async () => (await handshakes('busy')) === 15);
    expect(stalled.filter((socket) => socket.destroyed)).toHaveLength(15);
    // Plain clients do not wait for a handshake slot.
    const plain = tcp(running.port, '127.0.31.2');
    await once(plain, 'data');
  });

  it('serves a new certificate after a rename-over, keeping live connections on the old one', async () => {
    const running = await start();
    const before = tlsClient(running.port);
    await once(before, 'secureConnect');
    const oldFingerprint = before.getPeerCertificate().fingerprint256;
    const b = new RustDeskPeer({
      id: '300000001',
      server: { host: '127.0.0.1', port: running.port },
      key: running.key,
      localAddress: '127.0.40.1',
      transport: 'tcp',
      tls: { ca: ca.certPem },
      timeoutMs: 5_000,
    });
    try {
      expect(await b.register()).toMatchObject({ answered: true, result: RegisterPkResponse_Result.OK });

      const next = await ca.issueServer({ name: 'next' });
      await rename(next.keyFile, running.keyFile);
      await rename(next.certFile, running.certFile);
      expect(await running.credentials.checkNow()).toBe('reloaded');
      expect(
        await metric(running.harness.registry, 'switchboard_tls_certificate_reloads_total', {
          result: 'reloaded',
        }),
      ).toBe(1);

      const after = tlsClient(running.port);
      await once(after, 'secureConnect');
      const newFingerprint = after.getPeerCertificate().fingerprint256;
      expect(newFingerprint).not.toBe(oldFingerprint);
      expect(before.destroyed).toBe(false);

      // B's TLS registration link from before the reload still carries pushes.
      const a = new RustDeskPeer({
        id: '300000002',
        server: { host: '127.0.0.1', port: running.port },
        key: running.key,
        localAddress: '127.0.40.2',
        tls: { ca: ca.certPem },
        timeoutMs: 5_000,
      });
      try {
        expect((await a.punchHole(b.id)).kind).toBe('punched');
        expect((await b.nextPush()).push).toMatchObject({ kind: 'punch-hole', via: 'tcp' });
      } finally {
        await a.stop();
      }
    } finally {
      await b.stop();
    }
  });
});

/** The first bytes Node's TLS client sends: a real ClientHello to cut short or dribble. */
async function captureClientHello(): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const first = new Promise<Buffer>((resolve) =>
    server.once('connection', (socket) =>
      socket.once('data', (chunk: Buffer) => {
        resolve(chunk);
        socket.destroy();
      }),
    ),
  );
  const client = connectTls({ host: '127.0.0.1', port: address.port, rejectUnauthorized: false });
  client.on('error', () => undefined);
  const hello = await first;
  client.destroy();
  server.close();
  return hello;
}
