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
export function ephemeralPort(host = '127.0.0.1'): Promise<number> {
  return ephemeralPortBlock([0], { host });
}

/**
 * A base port where base + each offset is free (TCP, and UDP on the base when `udp`), all in this
 * worker's slice. Every port of the block is reserved at once, so a later pick in this process never
 * lands on a neighbour the service will bind itself (hbbs's NAT and WebSocket ports, hbbr's WebSocket).
 */
export async function ephemeralPortBlock(
  offsets: readonly number[],
  { host = '127.0.0.1', udp = false }: { host?: string; udp?: boolean } = {},
): Promise<number> {
  const worker = Number(process.env['JEST_WORKER_ID'] ?? '1');
  const slice = (Number.isInteger(worker) && worker > 0 ? worker - 1 : 0) % TEST_PORT_SLICES;
  const first = TEST_PORTS_FIRST + slice * TEST_PORT_SLICE_SIZE;
  const last = first + TEST_PORT_SLICE_SIZE - 1;
  for (let attempt = 0; attempt < PICK_ATTEMPTS; attempt += 1) {
    const base = first + Math.floor(Math.random() * TEST_PORT_SLICE_SIZE);
    const block = offsets.map((offset) => base + offset);
    if (block.some((port) => port < first || port > last || handedOut.has(port))) continue;
    const bindable = await Promise.all([
      ...block.map((port) => canBind(port, 'tcp', host)),
      ...(udp ? [canBind(base, 'udp', host)] : []),
    ]);
    if (!bindable.every(Boolean)) continue;
    for (const port of block) handedOut.add(port);
    return base;
  }
  throw new Error(`no free test port block in ${first}-${last} on ${host}`);
}

/** A SIGNAL_PORT with hbbs's neighbours free and reserved (port − 1 NAT test, port TCP+UDP, port + 2 WebSocket). */
export async function freeSignalPorts(): Promise<{ port: number; metricsPort: number }> {
  const port = await ephemeralPortBlock([-1, 0, 2], { udp: true });
  return { port, metricsPort: await ephemeralPort() };
}

/** A RELAY_PORT with hbbr's WebSocket neighbour (port + 2) free and reserved, and a metrics port. */
export async function freeRelayPorts(): Promise<{ port: number; metricsPort: number }> {
  const port = await ephemeralPortBlock([0, 2]);
  return { port, metricsPort: await ephemeralPort() };
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
