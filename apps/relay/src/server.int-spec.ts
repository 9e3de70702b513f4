import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';

import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';
import { encodeFrame, encodeRendezvous, RequestRelay } from '@switchboard/protocol';
import { metric, waitFor as until } from '@switchboard/test-net';
import { AllowedOrigins, TrustedProxies } from '@switchboard/transport';
import { WebSocket } from 'ws';

import { RelayCore, type RelayCoreOptions } from './relay-core';
import { RelayServer } from './server';

// The listeners over real sockets: accept gate, WebSocket upgrade, drain. Pairing and relaying end
// to end are in relay-flows.int-spec.ts.

const logger = createLogger({ name: 'relay-server-test', level: 'silent' });

function requestRelay(uuid: string): Buffer {
  return encodeRendezvous({ $case: 'requestRelay', value: RequestRelay.fromPartial({ uuid }) });
}

async function tcpClient(port: number, localAddress?: string): Promise<Socket> {
  const socket = createConnection({ host: '127.0.0.1', port, localAddress });
  await once(socket, 'connect');
  return socket;
}

/** Resolves with every byte the socket received once it has closed. */
function receivedUntilClose(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  return once(socket, 'close').then(() => Buffer.concat(chunks));
}

describe('RelayServer over real sockets', () => {
  let registry: Registry;
  let core: RelayCore;
  let server: RelayServer;
  const blocked = new Set<string>();

  async function start(
    options: Partial<RelayCoreOptions> = {},
    trustedProxies: string[] = [],
    allowedOrigins: string[] = [],
  ) {
    registry = createMetricsRegistry({ defaultMetrics: false });
    core = new RelayCore({
      logger,
      registry,
      strict: false,
      limits: { firstFrameTimeoutMs: 300 },
      ips: { isBlocked: (ip) => blocked.has(ip), isBlacklisted: () => false },
      ...options,
    });
    server = new RelayServer(core, {
      ports: { host: '127.0.0.1', port: 0, wsPort: 0 },
      logger,
      trustedProxies: new TrustedProxies(trustedProxies),
      allowedOrigins: new AllowedOrigins(allowedOrigins),
    });
    await server.start();
  }

  afterEach(async () => {
    blocked.clear();
    await server.close(0);
  });

  it('accepts TCP and WebSocket clients on their own ports', async () => {
    await start();
    const { tcp, ws } = server.addresses;
    expect(tcp.port).toBeGreaterThan(0);
    expect(ws.port).not.toBe(tcp.port);
    const socket = await tcpClient(tcp.port);
    const client = new WebSocket(`ws://127.0.0.1:${ws.port}/ws/relay`);
    await once(client, 'open');
    await until(() => core.liveConnections === 2);
    socket.destroy();
    client.terminate();
  });

  it('closes a client that sends no RequestRelay in time, without a byte', async () => {
    await start();
    const idle = await tcpClient(server.addresses.tcp.port);
    const started = Date.now();
    expect(await receivedUntilClose(idle)).toHaveLength(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('reads a WebSocket client’s first binary message as its first frame and pairs it with a TCP client', async () => {
    await start();
    const ws = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/`);
    await once(ws, 'open');
    ws.send(requestRelay('mixed'));
    const tcp = await tcpClient(server.addresses.tcp.port);
    tcp.write(encodeFrame(requestRelay('mixed')));
    await until(() => core.liveSessions === 1);
    const message = once(ws, 'message');
    tcp.write(encodeFrame(Buffer.from('to ws')));
    expect(Buffer.from((await message)[0] as Buffer).toString()).toBe('to ws');
    tcp.destroy();
    ws.terminate();
  });

  it('drops a blocklisted IP at accept, before reading a byte, and counts it', async () => {
    await start();
    blocked.add('127.0.0.3');
    const tcp = await tcpClient(server.addresses.tcp.port, '127.0.0.3');
    tcp.write(encodeFrame(requestRelay('x')));
    expect(await receivedUntilClose(tcp)).toHaveLength(0);
    const ws = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/`, { localAddress: '127.0.0.3' });
    const [error] = (await once(ws, 'error')) as [Error];
    expect(error.message).toMatch(/socket hang up|ECONNRESET/);
    expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'blocklist' })).toBe(2);
    expect(await metric(registry, 'switchboard_relay_connections_accepted_total', {})).toBe(0);
    // Others carry on.
    (await tcpClient(server.addresses.tcp.port)).destroy();
  });

  it('caps open connections per IP on both ports and frees the slot when one closes', async () => {
    await start({ limits: { firstFrameTimeoutMs: 5_000, maxConnectionsPerIp: 3 } });
    const held = [
      await tcpClient(server.addresses.tcp.port, '127.0.0.4'),
      await tcpClient(server.addresses.tcp.port, '127.0.0.4'),
    ];
    const ws = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/`, { localAddress: '127.0.0.4' });
    await once(ws, 'open');
    await until(() => core.liveConnections === 3);
    const over = await tcpClient(server.addresses.tcp.port, '127.0.0.4');
    expect(await receivedUntilClose(over)).toHaveLength(0);
    expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'per-ip-limit' })).toBe(1);
    const elsewhere = await tcpClient(server.addresses.tcp.port, '127.0.0.5');
    await until(() => core.liveConnections === 4);

    held[0]?.destroy();
    await until(() => core.liveConnections === 3);
    const again = await tcpClient(server.addresses.tcp.port, '127.0.0.4');
    await until(() => core.liveConnections === 4);
    for (const socket of [...held, elsewhere, again]) socket.destroy();
    ws.terminate();
  });

  it('behind a trusted proxy, gates, caps and blocklists WebSocket clients by the address it names', async () => {
    await start({ limits: { firstFrameTimeoutMs: 5_000, maxConnectionsPerIp: 1 } }, ['127.0.0.6']);
    blocked.add('203.0.113.9');
    const viaProxy = (forwardedFor: string, localAddress = '127.0.0.6') =>
      new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/ws/relay`, {
        localAddress,
        headers: { 'X-Forwarded-For': forwardedFor },
      });

    const refused = viaProxy('203.0.113.9');
    refused.on('error', () => undefined);
    await once(refused, 'close');
    expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'blocklist' })).toBe(1);

    // One per client, though all come from the proxy's address: the cap is the client's.
    const first = viaProxy('198.51.100.1');
    const second = viaProxy('10.9.9.9, 198.51.100.2');
    await Promise.all([once(first, 'open'), once(second, 'open')]);
    await until(() => core.liveConnections === 2);
    const overCap = viaProxy('198.51.100.1');
    overCap.on('error', () => undefined);
    await once(overCap, 'close');
    expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'per-ip-limit' })).toBe(1);

    // The session is known by the client's address: blocking it cuts that client only.
    blocked.add('198.51.100.2');
    const cut = once(second, 'close');
    core.enforceBlocklist();
    await cut;
    expect(first.readyState).toBe(WebSocket.OPEN);

    // Anyone else's forwarding headers are ignored: this peer is judged by its own address.
    const spoofing = viaProxy('198.51.100.1', '127.0.0.7');
    await once(spoofing, 'open');
    await until(() => core.liveConnections === 2);
    first.terminate();
    spoofing.terminate();
  });

  it('holds a flood from many addresses to the global cap on both ports, and frees slots on close', async () => {
    const cap = 6;
    await start({ limits: { firstFrameTimeoutMs: 30_000, maxConnections: cap } });
    const flood = await Promise.all(
      Array.from({ length: 20 }, (_, n) => tcpClient(server.addresses.tcp.port, `127.0.3.${n + 1}`)),
    );
    const closed = new Set<Socket>();
    for (const socket of flood) {
      socket.on('error', () => undefined);
      socket.once('close', () => closed.add(socket));
    }
    await until(() => closed.size === 20 - cap);
    expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'connection-cap' })).toBe(
      20 - cap,
    );
    const overWs = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/`, {
      localAddress: '127.0.3.99',
    });
    overWs.on('error', () => undefined);
    await new Promise((resolve) => overWs.once('close', resolve));
    for (const socket of flood) socket.destroy();
    await until(() => core.liveConnections === 0);
    const later = await tcpClient(server.addresses.tcp.port, '127.0.3.100');
    await until(() => core.liveConnections === 1);
    later.destroy();
  });

  it('behind a trusted proxy, ignores a forged X-Real-IP and caps the client its X-Forwarded-For hop names', async () => {
    await start({ limits: { firstFrameTimeoutMs: 5_000, maxConnectionsPerIp: 1 } }, ['127.0.0.9']);
    blocked.add('203.0.113.50');
    const viaProxy = (realIp: string) =>
      new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/ws/relay`, {
        localAddress: '127.0.0.9',
        headers: { 'X-Real-IP': realIp, 'X-Forwarded-For': `${realIp}, 203.0.113.50` },
      });
    // The client claims a clean address; the proxy appended its blocklisted one.
    const blockedClient = viaProxy('198.51.100.30');
    blockedClient.on('error', () => undefined);
    await new Promise((resolve) => blockedClient.once('close', resolve));
    expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'blocklist' })).toBe(1);
  });

  it('refuses a WebSocket upgrade from an Origin not in WS_ALLOWED_ORIGINS; no Origin (native clients) passes', async () => {
    await start({ limits: { firstFrameTimeoutMs: 5_000 } }, [], ['https://console.example.com']);
    const url = `ws://127.0.0.1:${server.addresses.ws.port}/ws/relay`;
    const foreign = new WebSocket(url, { origin: 'https://evil.example.net' });
    foreign.on('error', () => undefined);
    const [, response] = (await once(foreign, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(403);
    foreign.terminate();
    const allowed = new WebSocket(url, { origin: 'https://console.example.com' });
    const native = new WebSocket(url);
    await Promise.all([once(allowed, 'open'), once(native, 'open')]);
    allowed.terminate();
    native.terminate();
  });

  it('close(drain) refuses new clients and drops unpaired ones at once but lets a paired session finish', async () => {
    await start();
    const a = await tcpClient(server.addresses.tcp.port);
    const b = await tcpClient(server.addresses.tcp.port);
    a.write(encodeFrame(requestRelay('live')));
    b.write(encodeFrame(requestRelay('live')));
    const lonely = await tcpClient(server.addresses.tcp.port);
    await until(() => core.liveSessions === 1 && core.liveConnections === 3);
    let finished = false;
    const closing = server.close(5_000).then((result) => {
      finished = true;
      return result;
    });
    await receivedUntilClose(lonely);
    await expect(tcpClient(server.addresses.tcp.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const arrived = once(b, 'data');
    a.write('still relaying');
    expect(String((await arrived)[0])).toBe('still relaying');
    expect(finished).toBe(false);
    a.end();
    expect(await closing).toEqual({ cut: 0 });
  });

  it('close(drain) cuts paired sessions still live at the deadline', async () => {
    await start();
    const a = await tcpClient(server.addresses.tcp.port);
    const ws = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/`);
    await once(ws, 'open');
    a.write(encodeFrame(requestRelay('cut')));
    ws.send(requestRelay('cut'));
    await until(() => core.liveSessions === 1);
    const closed = Promise.all([once(a, 'close'), once(ws, 'close')]);
    const started = Date.now();
    expect(await server.close(200)).toEqual({ cut: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await closed;
  });
});
