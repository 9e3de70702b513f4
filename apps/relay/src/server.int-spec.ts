import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';

import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';
import { WebSocket } from 'ws';

import { RelayCore } from './relay-core';
import { RelayServer } from './server';
import { encodeFrame } from '@switchboard/protocol';

const logger = createLogger({ name: 'relay-server-test', level: 'silent' });
const REQUEST_RELAY = encodeFrame(Buffer.from('92011a0a0475756964', 'hex'));

async function tcpClient(port: number): Promise<Socket> {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('RelayServer over real sockets', () => {
  let registry: Registry;
  let core: RelayCore;
  let server: RelayServer;
  beforeEach(async () => {
    registry = createMetricsRegistry({ service: 'relay-test', defaultMetrics: false });
    core = new RelayCore({ logger, registry, limits: { firstFrameTimeoutMs: 300 } });
    server = new RelayServer(core, { ports: { host: '127.0.0.1', port: 0, wsPort: 0 }, logger });
    await server.start();
  });
  afterEach(() => server.close(0));

  it('accepts TCP and WebSocket clients on their own ports', async () => {
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

  it('closes a TCP client after its RequestRelay (no pairing yet) and an idle one after the timeout', async () => {
    const requesting = await tcpClient(server.addresses.tcp.port);
    const idle = await tcpClient(server.addresses.tcp.port);
    const requestingClosed = once(requesting, 'close');
    const idleClosed = once(idle, 'close');
    requesting.write(REQUEST_RELAY);
    await requestingClosed;
    expect(idle.destroyed).toBe(false);
    await idleClosed;
  });

  it('reads a WebSocket client’s first binary message as its first frame', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/`);
    await once(client, 'open');
    const closed = once(client, 'close');
    client.send(Buffer.from('92011a0a0475756964', 'hex'));
    const [code] = (await closed) as [number];
    expect(code).toBe(1000);
  });

  it('close(drain) refuses new clients at once but lets a live one finish', async () => {
    const live = await tcpClient(server.addresses.tcp.port);
    await until(() => core.liveConnections === 1);
    let finished = false;
    const closing = server.close(5_000).then((result) => {
      finished = true;
      return result;
    });
    await expect(tcpClient(server.addresses.tcp.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(finished).toBe(false);
    live.end();
    expect(await closing).toEqual({ cut: 0 });
  });

  it('close(drain) cuts live clients at the deadline', async () => {
    const live = await tcpClient(server.addresses.tcp.port);
    const ws = new WebSocket(`ws://127.0.0.1:${server.addresses.ws.port}/`);
    await once(ws, 'open');
    await until(() => core.liveConnections === 2);
    const closed = Promise.all([once(live, 'close'), once(ws, 'close')]);
    const started = Date.now();
    expect(await server.close(200)).toEqual({ cut: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await closed;
  });
});
