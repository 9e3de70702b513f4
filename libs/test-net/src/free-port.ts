import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';

/** A TCP port the kernel just handed out on `host` and that nothing listens on any more. */
export async function ephemeralPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** Whether `port` can be bound right now (a service started next will very likely get it). */
export function canBind(port: number, protocol: 'tcp' | 'udp', host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolveBind) => {
    if (protocol === 'udp') {
      const socket = createSocket('udp4');
      socket.once('error', () => resolveBind(false));
      socket.bind(port, host, () => socket.close(() => resolveBind(true)));
      return;
    }
    const server = createServer();
    server.once('error', () => resolveBind(false));
    server.listen(port, host, () => server.close(() => resolveBind(true)));
  });
}
