import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';

import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';
import { encodeFrame, encodeFrameHeader, RegisterPkResponse_Result } from '@switchboard/protocol';
import { metric, waitFor as until } from '@switchboard/test-net';
import { AllowedOrigins, TrustedProxies, WebSocketDuplex } from '@switchboard/transport';
import { WebSocket } from 'ws';

import { LoggingDeviceWriter, LoggingRelayTickets, OpenAccess, StaticRelayPicker } from './defaults';
import { type SignalLimits } from './limits';
import { SignalServer } from './server';
import { SignalCore } from './signal-core';
import { peerIdentity } from './test/core-harness';
import { FramedClient } from './test/rendezvous-client';

const logger = createLogger({ name: 'signal-server-test', level: 'silent' });

async function tcpClient(port: number): Promise<Socket> {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

function start(
  registry: Registry,
  messageTimeoutMs = 30_000,
  limits: Partial<SignalLimits> = {},
  trustedProxies: string[] = [],
  allowedOrigins: string[] = [],
) {
  const core = new SignalCore({
    logger,
    registry,
    serverKey: { licenceKey: undefined, signingKeyPair: undefined },
    access: new OpenAccess(),
    writer: new LoggingDeviceWriter(logger),
    relays: new StaticRelayPicker([]),
    tickets: new LoggingRelayTickets(logger),
    limits: { messageTimeoutMs, ...limits },
  });
  const server = new SignalServer(core, {
    ports: { host: '127.0.0.1', port: 0, natTestPort: 0, wsPort: 0 },
    trustedProxies: new TrustedProxies(trustedProxies),
    allowedOrigins: new AllowedOrigins(allowedOrigins),
    logger,
  });
  return { core, server };
}

describe('SignalServer over real sockets', () => {
  let registry: Registry;
  let core: SignalCore;
  let server: SignalServer;
  beforeEach(async () => {
    registry = createMetricsRegistry({ defaultMetrics: false });
    ({ core, server } = start(registry, 300));
    await server.start();
  });
  afterEach(() => server.close());

  it('binds UDP, TCP, NAT-test and WebSocket listeners and reports their ports', () => {
    const { udp, tcp, natTest, ws } = server.addresses;
    for (const address of [udp, tcp, natTest, ws]) {
      expect(address.address).toBe('127.0.0.1');
      expect(address.port).toBeGreaterThan(0);
    }
    expect(new Set([tcp.port, natTest.port, ws.port]).size).toBe(3);
  });

  it('hands TCP connections on both TCP ports to the core', async () => {
    const main = await tcpClient(server.addresses.tcp.port);
    const natTest = await tcpClient(server.addresses.natTest.port);
    await until(() => core.openConnections === 2);
    expect(await metric(registry, 'switchboard_signal_connections_accepted_total', { listener: 'tcp' })).toBe(
      1,
    );
    expect(
      await metric(registry, 'switchboard_signal_connections_accepted_total', { listener: 'nat-test' }),
    ).toBe(1);
    main.destroy();
    natTest.destroy();
  });

  it('closes a TCP client that announces an oversized frame', async () => {
    const socket = await tcpClient(server.addresses.tcp.port);
    const closed = once(socket, 'close');
    socket.write(encodeFrameHeader(1 << 20));
    await closed;
    expect(
      await metric(registry, 'switchboard_signal_connections_closed_total', { reason: 'frame-too-large' }),
    ).toBe(1);
  });

  it('closes an idle TCP client after the message timeout', async () => {
    const socket = await tcpClient(server.addresses.natTest.port);
    const started = Date.now();
    await once(socket, 'close');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('feeds UDP datagrams to the core', async () => {
    const client = createSocket('udp4');
    client.send(Buffer.from('320b0a09313233343536373839', 'hex'), server.addresses.udp.port, '127.0.0.1');
    await until(async () => (await metric(registry, 'switchboard_signal_datagrams_received_total')) === 1);
    client.close();
  });

  it('answers IPv4 clients from a dual-stack (::) UDP socket', async () => {
    const dual = start(createMetricsRegistry({ defaultMetrics: false }));
    const dualServer = new SignalServer(dual.core, {
      ports: { host: '::', port: 0, natTestPort: 0, wsPort: 0 },
      trustedProxies: new TrustedProxies([]),
      logger,
    });
    const { udp } = await dualServer.start();
    const client = createSocket('udp4');
    const reply = once(client, 'message');
    // RegisterPeer for an unknown id: the answer is request_pk (RendezvousMessage field 7).
    client.send(Buffer.from('320b0a09313233343536373839', 'hex'), udp.port, '127.0.0.1');
    const [bytes] = (await reply) as [Buffer];
    expect(bytes.toString('hex')).toBe('3a021001');
    client.close();
    await dualServer.close();
  });

  it('accepts WebSocket clients on any path and frames their binary messages', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/ws/id`);
    await once(client, 'open');
    await until(
      async () => (await metric(registry, 'switchboard_signal_connections_open', { listener: 'ws' })) === 1,
    );
    const closed = once(client, 'close');
    client.send('text is ignored');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.readyState).toBe(WebSocket.OPEN);
    // RegisterPeer is UDP-only: recognised, then the connection is closed.
    client.send(Buffer.from('320b0a09313233343536373839', 'hex'));
    await closed;
    expect(
      await metric(registry, 'switchboard_signal_messages_total', { transport: 'ws', type: 'registerPeer' }),
    ).toBe(1);
    expect(
      await metric(registry, 'switchboard_signal_connections_closed_total', {
        listener: 'ws',
        reason: 'unexpected-message',
      }),
    ).toBe(1);
  });

  it('closes a WebSocket client whose message exceeds 64 KiB', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/`);
    await once(client, 'open');
    const closed = once(client, 'close');
    client.send(Buffer.alloc(64 * 1024 + 1));
    const [code] = (await closed) as [number];
    expect(code).toBe(1009);
  });

  it('answers plain HTTP on the WebSocket port with 426', async () => {
    const response = await fetch(`http://127.0.0.1:${server.addresses.ws.port}/`);
    expect(response.status).toBe(426);
  });

  it('close() drops live clients and frees every port', async () => {
    const tcp = await tcpClient(server.addresses.tcp.port);
    const ws = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/`);
    await once(ws, 'open');
    await until(() => core.openConnections === 2);
    const tcpClosed = once(tcp, 'close');
    const wsClosed = once(ws, 'close');
    const started = Date.now();
    await server.close();
    await Promise.all([tcpClosed, wsClosed]);
    expect(Date.now() - started).toBeLessThan(1_000);
    const { tcp: tcpAddress, udp, ws: wsAddress } = server.addresses;
    for (const port of [tcpAddress.port, wsAddress.port]) {
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(port, '127.0.0.1', resolve));
      await new Promise((resolve) => probe.close(resolve));
    }
    const udpProbe = createSocket('udp4');
    await new Promise<void>((resolve) => udpProbe.bind(udp.port, '127.0.0.1', resolve));
    udpProbe.close();
    tcp.on('error', () => undefined);
    expect(tcp.writable).toBe(false);
    await tcpClient(tcpAddress.port).then(
      () => {
        throw new Error('listener still open');
      },
      (error: NodeJS.ErrnoException) => expect(error.code).toBe('ECONNREFUSED'),
    );
  });

  it('fails to start when a port is taken, leaving nothing open', async () => {
    const other = start(createMetricsRegistry({ defaultMetrics: false }));
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const freePort = (free.address() as AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    // TCP and UDP bind on freePort first, then the NAT-test port collides.
    const blocked = new SignalServer(other.core, {
      ports: { host: '127.0.0.1', port: freePort, natTestPort: server.addresses.natTest.port, wsPort: 0 },
      trustedProxies: new TrustedProxies([]),
      logger,
    });
    await expect(blocked.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(() => blocked.addresses).toThrow('not started');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(freePort, '127.0.0.1', resolve));
    await new Promise((resolve) => probe.close(resolve));
    const udpProbe = createSocket('udp4');
    await new Promise<void>((resolve) => udpProbe.bind(freePort, '127.0.0.1', resolve));
    udpProbe.close();
  });
});

type SilentSocket = Socket & { closedAt?: number };

describe('SignalServer WebSocket port before the upgrade', () => {
  const cap = 20;
  const upgradeTimeoutMs = 1_500;
  let registry: Registry;
  let server: SignalServer;
  const sockets: Socket[] = [];
  beforeEach(async () => {
    registry = createMetricsRegistry({ defaultMetrics: false });
    const limits = { maxConnectionsPerIp: cap, newConnectionsPerIp: 1_000 };
    ({ server } = start(registry, upgradeTimeoutMs, limits, ['127.0.0.8']));
    await server.start();
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await server.close();
  });

  /** A raw TCP connection from `localAddress` that never sends a byte; resolves once connected. */
  async function silentSocket(localAddress: string): Promise<SilentSocket> {
    const socket: SilentSocket = createConnection({
      host: '127.0.0.1',
      port: server.addresses.ws.port,
      localAddress,
    });
    socket.on('error', () => undefined);
    socket.once('close', () => (socket.closedAt = Date.now()));
    sockets.push(socket);
    await once(socket, 'connect');
    return socket;
  }

  async function registersOverWebSocket(localAddress: string, id: string): Promise<boolean> {
    const socket = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/ws/id`, { localAddress });
    // A refused client sees a hang-up ('error', then 'close'), never 'open'.
    socket.on('error', () => undefined);
    const opened = await new Promise<boolean>((resolve) => {
      socket.once('open', () => resolve(true));
      socket.once('close', () => resolve(false));
    });
    if (!opened) return false;
    const client = new FramedClient(new WebSocketDuplex(socket));
    const { uuid, pk } = peerIdentity(7);
    client.send({ $case: 'registerPk', value: { id, uuid, pk, oldId: '', noRegisterDevice: false } });
    const response = await client.expect('registerPkResponse');
    socket.close();
    return response.result === RegisterPkResponse_Result.OK;
  }

  it('caps silent sockets per IP from TCP accept and reaps them, while WebSocket clients register', async () => {
    const started = Date.now();
    const silent: SilentSocket[] = [];
    for (let n = 0; n < cap + 10; n += 1) silent.push(await silentSocket('127.0.0.5'));
    // Beyond the cap the server closes at once, long before any timeout.
    await until(() => silent.filter((socket) => socket.closedAt !== undefined).length === 10);
    expect(Date.now() - started).toBeLessThan(upgradeTimeoutMs);
    expect(await metric(registry, 'switchboard_signal_refusals_total', { reason: 'connection-limit' })).toBe(
      10,
    );
    // The capped address gets no WebSocket either; another address is unaffected.
    expect(await registersOverWebSocket('127.0.0.5', 'capped01')).toBe(false);
    expect(await registersOverWebSocket('127.0.0.6', 'other001')).toBe(true);
    expect(silent.filter((socket) => socket.closedAt === undefined)).toHaveLength(cap);

    // The ones under the cap are closed by the upgrade timeout, not left to Node's 60 s headersTimeout.
    await until(() => silent.every((socket) => socket.closedAt !== undefined), upgradeTimeoutMs + 3_000);
    const reapedAfter = Math.max(...silent.map((socket) => socket.closedAt ?? 0)) - started;
    expect(reapedAfter).toBeGreaterThanOrEqual(upgradeTimeoutMs - 100);
    // Their slots are free again.
    expect(await registersOverWebSocket('127.0.0.5', 'after001')).toBe(true);
  });

  it('does not reap a WebSocket that upgraded in time', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/`, {
      localAddress: '127.0.0.7',
    });
    await once(socket, 'open');
    const client = new FramedClient(new WebSocketDuplex(socket));
    // Registered, so heartbeats keep the link past the first-message timeout; the upgrade timer must be gone.
    const { uuid, pk } = peerIdentity(8);
    client.send({
      $case: 'registerPk',
      value: { id: 'upgraded1', uuid, pk, oldId: '', noRegisterDevice: false },
    });
    expect((await client.expect('registerPkResponse')).result).toBe(RegisterPkResponse_Result.OK);
    for (let elapsed = 0; elapsed < upgradeTimeoutMs + 500; elapsed += 250) {
      client.sendHeartbeat();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close();
  });

  it("counts a trusted proxy's clients by their own addresses, not the proxy's", async () => {
    const clients = [];
    for (let n = 0; n < cap + 5; n += 1) {
      const socket = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/ws/id`, {
        localAddress: '127.0.0.8',
        headers: { 'X-Forwarded-For': `198.51.100.${n + 1}` },
      });
      await once(socket, 'open');
      clients.push(socket);
    }
    expect(clients.every((socket) => socket.readyState === WebSocket.OPEN)).toBe(true);
    expect(await metric(registry, 'switchboard_signal_refusals_total', { reason: 'connection-limit' })).toBe(
      0,
    );
    for (const socket of clients) socket.close();
  });
});

describe('SignalServer network edges (issue 10: items 13, 20, 31)', () => {
  let registry: Registry;
  let server: SignalServer;
  const sockets: Socket[] = [];

  async function startWith(
    messageTimeoutMs: number,
    limits: Partial<SignalLimits>,
    trustedProxies: string[] = [],
    allowedOrigins: string[] = [],
  ): Promise<void> {
    registry = createMetricsRegistry({ defaultMetrics: false });
    ({ server } = start(registry, messageTimeoutMs, limits, trustedProxies, allowedOrigins));
    await server.start();
  }

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await server.close();
  });

  async function rawClient(port: number, localAddress: string): Promise<Socket & { closedAt?: number }> {
    const socket: Socket & { closedAt?: number } = createConnection({
      host: '127.0.0.1',
      port,
      localAddress,
    });
    socket.on('error', () => undefined);
    socket.once('close', () => (socket.closedAt = Date.now()));
    sockets.push(socket);
    await once(socket, 'connect');
    return socket;
  }

  /** Resolves with whether the upgrade was accepted, and the HTTP status when it was not. */
  function upgrade(options: { origin?: string; headers?: Record<string, string>; localAddress?: string }) {
    const socket = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/ws/id`, options);
    return new Promise<{ socket: WebSocket; opened: boolean; status?: number }>((resolve) => {
      socket.once('open', () => resolve({ socket, opened: true }));
      socket.once('unexpected-response', (_request, response) => {
        resolve({ socket, opened: false, status: response.statusCode });
        response.resume();
        socket.terminate();
      });
      socket.once('error', () => resolve({ socket, opened: false }));
    });
  }

  it('closes a TCP connection that only ever sends empty frames at the first-message timeout', async () => {
    await startWith(400, {});
    const socket = await rawClient(server.addresses.tcp.port, '127.0.0.21');
    const heartbeat = encodeFrame(Buffer.alloc(0));
    const beating = setInterval(() => socket.write(heartbeat), 50);
    try {
      await until(() => socket.closedAt !== undefined, 5_000);
    } finally {
      clearInterval(beating);
    }
    expect(await metric(registry, 'switchboard_signal_connections_closed_total', { reason: 'timeout' })).toBe(
      1,
    );
  });

  it('keeps a registered TCP link up on heartbeats alone', async () => {
    await startWith(400, { linkIdleTimeoutMs: 800 });
    const socket = await rawClient(server.addresses.tcp.port, '127.0.0.22');
    const client = new FramedClient(socket);
    const { uuid, pk } = peerIdentity(21);
    client.send({
      $case: 'registerPk',
      value: { id: 'edgelink1', uuid, pk, oldId: '', noRegisterDevice: false },
    });
    expect((await client.expect('registerPkResponse')).result).toBe(RegisterPkResponse_Result.OK);
    for (let elapsed = 0; elapsed < 2_000; elapsed += 100) {
      client.sendHeartbeat();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(socket.closedAt).toBeUndefined();
  });

  it('holds a flood from many addresses to the global cap on every port, and frees slots on close', async () => {
    const cap = 8;
    await startWith(30_000, { maxConnections: cap, maxConnectionsPerIp: 1_000, newConnectionsPerIp: 1_000 });
    const flood = await Promise.all(
      Array.from({ length: 30 }, (_, n) =>
        rawClient(
          n % 2 === 0 ? server.addresses.tcp.port : server.addresses.natTest.port,
          `127.0.1.${n + 1}`,
        ),
      ),
    );
    await until(() => flood.filter((socket) => socket.closedAt !== undefined).length === 30 - cap);
    expect(await metric(registry, 'switchboard_signal_refusals_total', { reason: 'connection-cap' })).toBe(
      30 - cap,
    );
    // The WebSocket port counts from TCP accept, so it is full too.
    expect((await upgrade({ localAddress: '127.0.2.1' })).opened).toBe(false);
    for (const socket of flood) socket.destroy();
    const after = await upgrade({ localAddress: '127.0.2.2' });
    expect(after.opened).toBe(true);
    after.socket.close();
  });

  it('counts a proxied client by its X-Forwarded-For hop, not by a forged X-Real-IP', async () => {
    const cap = 3;
    await startWith(30_000, { maxConnectionsPerIp: cap, newConnectionsPerIp: 1_000 }, ['127.0.0.23']);
    const results: Awaited<ReturnType<typeof upgrade>>[] = [];
    for (let n = 0; n < cap + 2; n += 1) {
      // The proxy appends the real client; the client wrote X-Real-IP itself, a new one each time.
      results.push(
        await upgrade({
          localAddress: '127.0.0.23',
          headers: {
            'X-Real-IP': `203.0.113.${n + 1}`,
            'X-Forwarded-For': `203.0.113.${n + 1}, 198.51.100.77`,
          },
        }),
      );
    }
    // A proxied client is gated once the upgrade has named it: the refused ones are closed right after.
    const closed = () => results.map((result) => result.socket.readyState === WebSocket.CLOSED);
    await until(() => closed().filter(Boolean).length === 2);
    expect(closed()).toEqual([false, false, false, true, true]);
    expect(await metric(registry, 'switchboard_signal_refusals_total', { reason: 'connection-limit' })).toBe(
      2,
    );
    for (const result of results) result.socket.terminate();
  });

  it('refuses a WebSocket upgrade from an Origin not in WS_ALLOWED_ORIGINS, and lets native clients (no Origin) in', async () => {
    await startWith(30_000, {}, [], ['https://console.example.com']);
    const foreign = await upgrade({ origin: 'https://evil.example.net' });
    expect(foreign).toMatchObject({ opened: false, status: 403 });
    const allowed = await upgrade({ origin: 'https://console.example.com' });
    expect(allowed.opened).toBe(true);
    const native = await upgrade({});
    expect(native.opened).toBe(true);
    allowed.socket.close();
    native.socket.close();
  });

  it('lets any Origin upgrade when WS_ALLOWED_ORIGINS is unset, as before', async () => {
    await startWith(30_000, {});
    const any = await upgrade({ origin: 'https://evil.example.net' });
    expect(any.opened).toBe(true);
    any.socket.close();
  });
});
