import { type AddressInfo, type Server } from 'node:net';

// Starting and stopping a listener, for signal's and the relay's TCP servers and the http.Server
// under their WebSocket ports (an http.Server is a net.Server).

/** Listens on host:port; rejects with the bind error (EADDRINUSE, EACCES) instead of emitting it. */
export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stops accepting; resolves once the server has closed (at once if it never listened). */
export function closeServer(server: Server | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}
