import { Duplex } from 'node:stream';

/**
 * Two in-memory ends of one connection: what the client writes the server reads, and back. Ending
 * one end ends the other's reading side; destroying one closes the other's, as a socket's peer sees it.
 */
export function streamPair(): { server: Duplex; client: Duplex } {
  const ends: Duplex[] = [];
  const make = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        other().push(chunk);
        callback();
      },
      final(callback) {
        other().push(null);
        callback();
      },
      destroy(error, callback) {
        const peer = other();
        if (!peer.destroyed) peer.push(null);
        callback(error);
      },
    });
  ends.push(
    make(() => ends[1] as Duplex),
    make(() => ends[0] as Duplex),
  );
  return { server: ends[0] as Duplex, client: ends[1] as Duplex };
}
