import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { type Socket } from 'node:net';

import { Redis } from 'ioredis';

import { RelayTicketStore } from '@switchboard/relay-registry';

import { joinRelay } from './endpoints';

// How fast one relay pairs sessions the way RustDesk opens them in strict mode: signal has stored a
// ticket for the uuid, then B (the controlled side) and A (the controller, naming B's id) dial the
// relay and send their RequestRelay, B's SignedId right behind it. A pair counts once a byte from B
// has reached A. `window` pairings are in flight at a time; the bench process is the only client.

export interface PairingOptions {
  redisUrl: string;
  /** The relay's REDIS_KEY_PREFIX; tickets are written under `<prefix>:relay` as signal does. */
  redisKeyPrefix: string;
  relayPort: number;
  /** Signal's 64-byte identity secret key, whose public half the relay reads from KEY_DIR. */
  signingKey: Uint8Array;
  pairs: number;
  window: number;
}

export interface PairingResult {
  pairs: number;
  seconds: number;
  /** Milliseconds from B's dial to A's first byte, per pair. */
  latencies: number[];
}

const SIGNED_ID = Buffer.from('signed-id');

export async function measurePairing(options: PairingOptions): Promise<PairingResult> {
  const redis = new Redis(options.redisUrl);
  const tickets = new RelayTicketStore({
    redis,
    prefix: `${options.redisKeyPrefix}:relay`,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    signingKey: options.signingKey,
  });
  const uuids = Array.from({ length: options.pairs }, () => randomUUID());
  // Signal writes the ticket when it brokers the relay, before either client dials it.
  for (const uuid of uuids) {
    tickets.issue({
      uuid,
      peers: ['100000002'],
      relay: `127.0.0.1:${options.relayPort}`,
      requesterIp: '127.0.0.1',
      answererIp: '127.0.0.1',
    });
  }
  await tickets.flush();

  const sockets: Socket[] = [];
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const pairOne = async (uuid: string): Promise<void> => {
    const dialled = performance.now();
    const b = await joinRelay(options.relayPort, uuid);
    b.write(SIGNED_ID);
    const a = await joinRelay(options.relayPort, uuid, '100000002');
    sockets.push(a, b);
    await once(a, 'data');
    latencies.push(performance.now() - dialled);
  };
  await Promise.all(
    Array.from({ length: options.window }, async () => {
      while (next < uuids.length) await pairOne(uuids[next++] as string);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const socket of sockets) socket.destroy();
  redis.disconnect();
  return { pairs: uuids.length, seconds, latencies };
}
