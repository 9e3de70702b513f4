import { canBind, ephemeralPort } from '@switchboard/test-net';

// hbbs's fixed port layout (NAT test on port−1, WebSocket on port+2) for tests that need it: the
// real process and the reference peer both assume it.

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
