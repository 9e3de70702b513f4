import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type OnReadOpts, type Server, type Socket } from 'node:net';

import { encodeFrame, encodeRendezvous, RequestRelay } from '@switchboard/protocol';

// How a bench client reaches its partner: through the relay (both ends dial it and name the same
// uuid) or through a plain TCP listener (socat's upstream, or the direct ceiling), where the
// listener's accepted socket is the far end. Both the throughput run and the session workers use it.

/** The first frame a RustDesk peer sends hbbr (docs/protocol.md §6); after it the link carries raw bytes. */
export function requestRelayFrame(uuid: string, peerId = ''): Buffer {
  return encodeFrame(
    encodeRendezvous({ $case: 'requestRelay', value: RequestRelay.fromPartial({ uuid, id: peerId }) }),
  );
}

/** `onread` reads into a buffer of the caller's instead of a fresh one per read (no 'data' events). */
export async function dial(port: number, onread?: OnReadOpts): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true, ...(onread ? { onread } : {}) });
  await once(socket, 'connect');
  return socket;
}

/** Dials the relay and joins `uuid`; the relay answers nothing, so the link is usable at once. */
export async function joinRelay(
  port: number,
  uuid: string,
  peerId = '',
  onread?: OnReadOpts,
): Promise<Socket> {
  const socket = await dial(port, onread);
  socket.write(requestRelayFrame(uuid, peerId));
  return socket;
}

export async function listenLocal(onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer({ noDelay: true }, onConnection);
  server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 });
  await once(server, 'listening');
  return server;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
