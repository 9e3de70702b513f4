import { createSocket } from 'node:dgram';
import { type AddressInfo, createServer } from 'node:net';

// hbbs's fixed port layout (NAT test on port−1, WebSocket on port+2) for tests that need it: the
// real process and the reference peer both assume it.

async function canBind(port: number, protocol: 'tcp' | 'udp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
      return;
    }
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function ephemeralPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** A SIGNAL_PORT whose hbbs neighbours (port−1 TCP, port TCP+UDP, port+2 TCP) are free, and a metrics port. */
export async function freeSignalPorts(): Promise<{ port: number; metrics: number }> {
  for (;;) {
    const port = await ephemeralPort();
    if (port + 2 > 65535) continue;
    const free = await Promise.all([
      canBind(port - 1, 'tcp'),
      canBind(port, 'tcp'),
      canBind(port, 'udp'),
      canBind(port + 2, 'tcp'),
    ]);
    const metrics = await ephemeralPort();
    if (free.every(Boolean) && ![port - 1, port, port + 2].includes(metrics)) return { port, metrics };
  }
}
