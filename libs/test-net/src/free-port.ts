import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

// Test ports come from below Linux's ephemeral range (32768-60999 by default). A port the kernel
// hands out there can be taken again, between our pick and the service's bind, as the source port of
// any outgoing connection of a parallel test (the fuzz test opens thousands). Each Jest worker draws
// from a slice of its own, so two workers never pick the same port either.
const TEST_PORTS_FIRST = 20_000;
const TEST_PORT_SLICES = 8;
const TEST_PORT_SLICE_SIZE = 1_500;
const PICK_ATTEMPTS = 200;
/** Handed out by this process already: two picks in a row must differ before either is bound. */
const handedOut = new Set<number>();

/** A TCP port nothing listens on right now on `host`, chosen where no other test will take it. */
export async function ephemeralPort(host = '127.0.0.1'): Promise<number> {
  const worker = Number(process.env['JEST_WORKER_ID'] ?? '1');
  const slice = (Number.isInteger(worker) && worker > 0 ? worker - 1 : 0) % TEST_PORT_SLICES;
  const first = TEST_PORTS_FIRST + slice * TEST_PORT_SLICE_SIZE;
  for (let attempt = 0; attempt < PICK_ATTEMPTS; attempt += 1) {
    const port = first + Math.floor(Math.random() * TEST_PORT_SLICE_SIZE);
    if (handedOut.has(port) || !(await canBind(port, 'tcp', host))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free test port in ${first}-${first + TEST_PORT_SLICE_SIZE - 1} on ${host}`);
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
