import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

import { decodeRendezvous, RegisterPkResponse_Result } from '@switchboard/protocol';

import { registerPeerDatagram, registerPkDatagram, registrationAddress } from './bench-peers';

// A load generator process of the signal bench, forked by main.ts and driven over IPC: it registers
// a range of peers (RegisterPk, stop-and-wait per source address), or keeps a closed loop of
// RegisterPeer heartbeats going against a UDP server and counts the replies that come back.

export type WorkerCommand =
  | {
      readonly kind: 'register';
      readonly host: string;
      readonly port: number;
      /** Peer indexes [from, to). */
      readonly from: number;
      readonly to: number;
      /** Source addresses registering at once. */
      readonly concurrency: number;
    }
  | {
      readonly kind: 'heartbeat';
      readonly host: string;
      readonly port: number;
      /** Heartbeats go to random peers among the first `peers` (all registered). */
      readonly peers: number;
      readonly sockets: number;
      /** Datagrams each socket keeps in flight. */
      readonly window: number;
      /** This worker's sockets bind to 127.9.<block>.1 … */
      readonly block: number;
      readonly warmupMs: number;
      readonly measureMs: number;
    };

export interface RegisterReport {
  readonly kind: 'register';
  readonly ok: number;
  readonly refused: Readonly<Record<string, number>>;
  /** RegisterPk sent again after its answer did not come in time (1, 2, 4 s). */
  readonly retries: number;
  readonly unanswered: number;
}

export interface HeartbeatReport {
  readonly kind: 'heartbeat';
  /** Replies received inside the measuring window. */
  readonly replies: number;
  readonly seconds: number;
  /** Replies that asked for the key again (request_pk): the peer was not known, or moved. */
  readonly requestPk: number;
  /** Datagrams presumed lost (a socket heard nothing for a tick with datagrams in flight). */
  readonly lost: number;
}

/** Waits for a RegisterPk answer, doubling per attempt: 1 + 2 + 4 + 8 s before giving up on an id. */
const REPLY_TIMEOUTS_MS = [1_000, 2_000, 4_000, 8_000] as const;
const STALL_CHECK_MS = 100;
/** RegisterPeerResponse{request_pk: true}, as hbbs encodes it: 3a 02 10 01. */
const REQUEST_PK_LENGTH = 4;

async function register(command: Extract<WorkerCommand, { kind: 'register' }>): Promise<RegisterReport> {
  const addresses: number[][] = [];
  for (let index = command.from; index < command.to; index++) {
    const address = registrationAddress(index);
    const last = addresses[addresses.length - 1];
    if (last !== undefined && registrationAddress(last[0] ?? -1) === address) last.push(index);
    else addresses.push([index]);
  }
  let ok = 0;
  let retries = 0;
  let unanswered = 0;
  const refused: Record<string, number> = {};
  let next = 0;
  const registerFrom = async (indexes: readonly number[]) => {
    const address = registrationAddress(indexes[0] ?? 0);
    // RegisterPkResponse does not say which id it answers, so a socket whose request went unanswered
    // is replaced: a late answer then lands on a closed socket instead of passing for the next id's.
    let socket = await bind(address);
    let answer: ((reply: Buffer) => void) | undefined;
    const listen = (target: Socket) => target.on('message', (reply: Buffer) => answer?.(reply));
    listen(socket);
    try {
      for (const index of indexes) {
        const datagram = registerPkDatagram(index);
        let reply: Buffer | undefined;
        for (let attempt = 0; attempt < REPLY_TIMEOUTS_MS.length && reply === undefined; attempt++) {
          if (attempt > 0) {
            retries++;
            socket.close();
            socket = await bind(address);
            listen(socket);
          }
          const answered = new Promise<Buffer | undefined>((resolve) => {
            const timer = setTimeout(() => resolve(undefined), REPLY_TIMEOUTS_MS[attempt]);
            answer = (bytes) => {
              clearTimeout(timer);
              resolve(bytes);
            };
          });
          socket.send(datagram, command.port, command.host);
          reply = await answered;
        }
        if (reply === undefined) {
          unanswered++;
          continue;
        }
        const decoded = decodeRendezvous(reply);
        const result =
          decoded.ok && decoded.payload.$case === 'registerPkResponse'
            ? decoded.payload.value.result
            : undefined;
        if (result === RegisterPkResponse_Result.OK) ok++;
        else {
          const name = result === undefined ? 'unexpected reply' : RegisterPkResponse_Result[result];
          refused[name ?? String(result)] = (refused[name ?? String(result)] ?? 0) + 1;
        }
      }
    } finally {
      socket.close();
    }
  };
  await Promise.all(
    Array.from({ length: command.concurrency }, async () => {
      for (let group = next++; group < addresses.length; group = next++) {
        await registerFrom(addresses[group] ?? []);
      }
    }),
  );
  return { kind: 'register', ok, refused, retries, unanswered };
}

async function heartbeat(command: Extract<WorkerCommand, { kind: 'heartbeat' }>): Promise<HeartbeatReport> {
  // Encoded up front: the generator should spend its time on sockets, not protobuf.
  const datagrams = Array.from({ length: command.peers }, (_, index) => registerPeerDatagram(index));
  const sockets = await Promise.all(
    Array.from({ length: command.sockets }, (_, index) => bind(`127.9.${command.block}.${index + 1}`)),
  );
  let measuring = false;
  let running = true;
  let replies = 0;
  let requestPk = 0;
  let lost = 0;
  const inFlight = new Array<number>(sockets.length).fill(0);
  const heard = new Array<boolean>(sockets.length).fill(false);
  const onSent = () => undefined;
  const sendOne = (socket: Socket, slot: number) => {
    const datagram = datagrams[Math.floor(Math.random() * datagrams.length)];
    if (datagram === undefined) return;
    inFlight[slot] = (inFlight[slot] ?? 0) + 1;
    socket.send(datagram, command.port, command.host, onSent);
  };
  sockets.forEach((socket, slot) => {
    socket.on('message', (reply: Buffer) => {
      heard[slot] = true;
      inFlight[slot] = Math.max(0, (inFlight[slot] ?? 0) - 1);
      if (measuring) {
        replies++;
        if (reply.length === REQUEST_PK_LENGTH) requestPk++;
      }
      if (running) sendOne(socket, slot);
    });
  });
  const refill = () => {
    sockets.forEach((socket, slot) => {
      // A socket that heard nothing for a whole tick lost what it had in flight (UDP drops when a
      // receive buffer overflows): count it and start its window again.
      if (!heard[slot] && (inFlight[slot] ?? 0) > 0) {
        lost += inFlight[slot] ?? 0;
        inFlight[slot] = 0;
      }
      heard[slot] = false;
      while ((inFlight[slot] ?? 0) < command.window) sendOne(socket, slot);
    });
  };
  refill();
  const stallTimer = setInterval(refill, STALL_CHECK_MS);
  await sleep(command.warmupMs);
  const started = performance.now();
  measuring = true;
  await sleep(command.measureMs);
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  running = false;
  clearInterval(stallTimer);
  await sleep(200);
  for (const socket of sockets) socket.close();
  return { kind: 'heartbeat', replies, seconds, requestPk, lost };
}

async function bind(address: string): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, address);
  await once(socket, 'listening');
  return socket;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

process.on('message', (command: WorkerCommand) => {
  const run = command.kind === 'register' ? register(command) : heartbeat(command);
  run.then(
    (report) => process.send?.(report),
    (error: unknown) => {
      process.stderr.write(
        `load worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
});
process.on('disconnect', () => process.exit(0));
