import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { type AddressInfo, connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';

import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';
import { metric, waitFor } from '@switchboard/test-net';

import { type ListenerTlsMode } from './tls-settings';
import { SecureAcceptor, TlsListenerMetrics } from './secure-acceptor';
import { ThrowawayCa } from './throwaway-ca';
import { TlsCredentials } from './tls-credentials';

const logger = createLogger({ name: 'tls-test', level: 'silent', format: 'json' });

// A listener that answers every chunk with "<tls|plain>:<chunk>", so a test sees which path it took
// and that the first bytes were not lost to the sniffing.
interface EchoListener {
  port: number;
  registry: Registry;
  server: Server;
}

describe('SecureAcceptor', () => {
  let ca: ThrowawayCa;
  let credentials: TlsCredentials;
  const listeners: Server[] = [];
  const clients: Socket[] = [];

  beforeAll(async () => {
    ca = await ThrowawayCa.create();
    const registry = createMetricsRegistry({ defaultMetrics: false });
    credentials = await TlsCredentials.load({
      files: await ca.issueServer({ hosts: ['localhost', '127.0.0.1'] }),
      logger,
      registry,
      reloadIntervalMs: 0,
    });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await Promise.all(listeners.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  afterAll(async () => {
    await ca.dispose();
  });

  async function listen(
    mode: ListenerTlsMode,
    limits: { firstByteTimeoutMs?: number; handshakeTimeoutMs?: number; maxPendingHandshakes?: number } = {},
  ): Promise<EchoListener> {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const acceptor = new SecureAcceptor({
      listener: 'tcp',
      mode,
      credentials,
      metrics: new TlsListenerMetrics(registry),
      logger,
      firstByteTimeoutMs: limits.firstByteTimeoutMs ?? 5_000,
      handshakeTimeoutMs: limits.handshakeTimeoutMs ?? 5_000,
      maxPendingHandshakes: limits.maxPendingHandshakes ?? 64,
    });
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      acceptor.accept(socket, (stream, secured) => {
        stream.on('error', () => stream.destroy());
        stream.on('data', (chunk: Buffer) =>
          stream.write(`${secured ? 'tls' : 'plain'}:${chunk.toString()}`),
        );
        stream.resume();
      });
    });
    listeners.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { port: (server.address() as AddressInfo).port, registry, server };
  }

  function plainClient(port: number): Socket {
    const socket = netConnect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    clients.push(socket);
    return socket;
  }

  async function tlsClient(port: number, options: ConnectionOptions = {}): Promise<TLSSocket> {
    const socket = tlsConnect({
      port,
      host: '127.0.0.1',
      ca: ca.certPem,
      servername: 'localhost',
      ...options,
    });
    clients.push(socket);
    await once(socket, 'secureConnect');
    return socket;
  }

  async function firstReply(socket: Socket, send: string): Promise<string> {
    socket.write(send);
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    return chunk.toString();
  }

  /** Reads on (a paused socket would never see the server's FIN) until the socket closes. */
  async function closed(socket: Socket): Promise<void> {
    socket.resume();
    // Not events.once: it would reject on the 'error' that often comes first.
    if (!socket.destroyed) await new Promise((resolve) => socket.once('close', resolve));
  }

  it('off: every client is plain, a TLS handshake is just bytes', async () => {
    const { port } = await listen('off');
    expect(await firstReply(plainClient(port), 'hello')).toBe('plain:hello');
    const raw = plainClient(port);
    expect(await firstReply(raw, '\x16\x03\x01')).toBe('plain:\x16\x03\x01');
  });

  it('dual: plain and TLS clients share the port, and the first bytes reach the core intact', async () => {
    const { port, registry } = await listen('dual');
    expect(await firstReply(plainClient(port), 'hello')).toBe('plain:hello');
    expect(await firstReply(await tlsClient(port), 'secret')).toBe('tls:secret');
    expect(await metric(registry, 'switchboard_tls_listener_connections_total', { protocol: 'plain' })).toBe(
      1,
    );
    expect(await metric(registry, 'switchboard_tls_listener_connections_total', { protocol: 'tls' })).toBe(1);
    expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'ok' })).toBe(1);
  });

  it('on: a plain client is closed and counted as a failed handshake', async () => {
    const { port, registry } = await listen('on');
    const plain = plainClient(port);
    plain.write('hello, plain\r\n\r\n');
    await closed(plain);
    await waitFor(
      async () => (await metric(registry, 'switchboard_tls_handshakes_total', { result: 'failed' })) === 1,
    );
    expect(await firstReply(await tlsClient(port), 'next')).toBe('tls:next');
  });

  it('dual: garbage after 0x16 is a failed handshake; the listener serves the next client', async () => {
    const { port, registry } = await listen('dual');
    const garbage = plainClient(port);
    garbage.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]), Buffer.alloc(64, 0xee)]));
    await closed(garbage);
    await waitFor(
      async () => (await metric(registry, 'switchboard_tls_handshakes_total', { result: 'failed' })) === 1,
    );
    expect(await firstReply(plainClient(port), 'after')).toBe('plain:after');
  });

  it('dual: a truncated ClientHello and then silence times out and is counted', async () => {
    const { port, registry } = await listen('dual', { handshakeTimeoutMs: 300 });
    const stalled = plainClient(port);
    // A record header announcing 512 bytes of ClientHello, and only 10 of them.
    stalled.write(
      Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0, 0, 0, 0]),
    );
    await closed(stalled);
    expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'timeout' })).toBe(1);
  });

  it('dual: a client that sends nothing is closed after the first-byte timeout, not counted as TLS', async () => {
    const { port, registry } = await listen('dual', { firstByteTimeoutMs: 300 });
    const silent = plainClient(port);
    await closed(silent);
    expect(await metric(registry, 'switchboard_tls_handshakes_total')).toBe(0);
  });

  it('counts an SNI it has no certificate for, and still serves its certificate', async () => {
    const { port, registry } = await listen('dual');
    const client = tlsConnect({ port, host: '127.0.0.1', ca: ca.certPem, servername: 'elsewhere.example' });
    clients.push(client);
    const [error] = (await once(client, 'error')) as [Error & { code?: string }];
    // The client refuses: the certificate does not name elsewhere.example.
    expect(error.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(await metric(registry, 'switchboard_tls_unknown_server_names_total')).toBe(1);
  });

  it('refuses TLS 1.1 and a client offering only weak ciphers', async () => {
    const { port, registry } = await listen('on');
    const old = tlsConnect({
      port,
      host: '127.0.0.1',
      ca: ca.certPem,
      servername: 'localhost',
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
    });
    old.on('error', () => undefined);
    clients.push(old);
    await closed(old);
    const weak = tlsConnect({
      port,
      host: '127.0.0.1',
      ca: ca.certPem,
      servername: 'localhost',
      maxVersion: 'TLSv1.2',
      ciphers: 'AES128-SHA:DES-CBC3-SHA',
    });
    weak.on('error', () => undefined);
    clients.push(weak);
    await closed(weak);
    await waitFor(
      async () => (await metric(registry, 'switchboard_tls_handshakes_total', { result: 'failed' })) === 2,
    );
    expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'ok' })).toBe(0);
  });

  it('a client that finishes TLS and then sends plain bytes is closed', async () => {
    let streamError: Error | undefined;
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const acceptor = new SecureAcceptor({
      listener: 'tcp',
      mode: 'dual',
      credentials,
      metrics: new TlsListenerMetrics(registry),
      logger,
      firstByteTimeoutMs: 5_000,
      handshakeTimeoutMs: 5_000,
      maxPendingHandshakes: 8,
    });
    const server = createServer((socket) =>
      acceptor.accept(socket, (stream) => {
        stream.on('error', (error) => {
          streamError = error;
          stream.destroy();
        });
        stream.resume();
      }),
    );
    listeners.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    // TLS over a stream of our own, so that plain bytes can be written beneath it once it is up.
    const raw = plainClient((server.address() as AddressInfo).port);
    await once(raw, 'connect');
    const client = tlsConnect({
      socket: Duplex.from({ readable: raw, writable: raw }),
      ca: ca.certPem,
      servername: 'localhost',
    });
    client.on('error', () => undefined);
    clients.push(client);
    await once(client, 'secureConnect');
    // A frame in the clear: OpenSSL reads it as a record header of a bad type and version.
    raw.write(Buffer.concat([Buffer.from([0x00, 0x05, 0x01, 0x02, 0x03]), Buffer.alloc(2048, 0x41)]));
    await closed(raw);
    expect(streamError).toBeDefined();
    expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'ok' })).toBe(1);
  });

  it('sheds handshakes beyond its cap at once, while a plain client on the same port is served', async () => {
    const { port, registry } = await listen('dual', { maxPendingHandshakes: 5, handshakeTimeoutMs: 2_000 });
    // 20 stalled handshakes: five wait for their timeout, fifteen are closed at once as busy.
    const stalled = Array.from({ length: 20 }, () => {
      const socket = plainClient(port);
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
      return socket;
    });
    await waitFor(
      async () => (await metric(registry, 'switchboard_tls_handshakes_total', { result: 'busy' })) === 15,
    );
    expect(await firstReply(plainClient(port), 'still here')).toBe('plain:still here');
    await Promise.all(stalled.map(closed));
    expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'timeout' })).toBe(5);
    // With the pending ones gone, TLS is served again.
    expect(await firstReply(await tlsClient(port), 'again')).toBe('tls:again');
  });
});
