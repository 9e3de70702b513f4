import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

import { WebSocket } from 'ws';

import { answerServerKeyExchange, type FrameCipher } from '@switchboard/crypto';
import {
  decodeRendezvous,
  encodeFrame,
  encodeRendezvous,
  FrameDecoder,
  type RendezvousCase,
} from '@switchboard/protocol';

import { type RendezvousFuzzer } from './rendezvous-fuzz';

// Drives fuzz input into a running signal over each of its transports (docs/protocol.md §0): UDP, TCP
// 21116 plain and inside a secured session (§4), the NAT-test port and WebSocket. Each driver counts
// what it put on the wire; what the server did with it is read from the server's own metrics.
// Errors a hostile client provokes (resets, refused writes) are counted as outcomes, not thrown.

export interface FuzzEndpoint {
  readonly host: string;
  readonly port: number;
  readonly natTestPort: number;
  readonly wsPort: number;
}

export interface StreamTally {
  connections: number;
  frames: number;
  bytes: number;
  /** Connections the server ended (FIN or reset) before the client closed them. */
  closedByServer: number;
  /** Connections the client gave up on and destroyed. */
  destroyedByClient: number;
  errors: number;
}

export function emptyTally(): StreamTally {
  return { connections: 0, frames: 0, bytes: 0, closedByServer: 0, destroyedByClient: 0, errors: 0 };
}

/** `count` loopback addresses 127.0.<block>.1 …: Linux routes all of 127/8 to lo, so each is "another client". */
export function loopbackAddresses(block: number, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `127.0.${block}.${1 + index}`);
}

/** Runs `task(0 … total−1)` with at most `concurrency` in flight. */
export async function runPool(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      for (let index = next++; index < total; index = next++) await task(index);
    }),
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------- UDP

/** A datagram that came back to one of the fuzzing sockets. */
export interface UdpArrival {
  /** Length of every datagram that socket sent (one socket per length, so this is exact). */
  readonly requestLength: number;
  readonly length: number;
  readonly kind: RendezvousCase | 'undecodable';
}

export interface UdpFuzzResult {
  readonly sent: number;
  readonly bytesSent: number;
  readonly arrivals: readonly UdpArrival[];
  readonly sendErrors: number;
  /** Pacing probes that went unanswered within a second (and were sent again). */
  readonly probesLost: number;
}

const MAX_UDP_PAYLOAD = 65_507;

/**
 * Sends `datagrams` fuzz datagrams. Every distinct length goes out from a socket of its own, so any
 * reply is attributed to a request of known size without guessing which one it answered. After
 * each burst a probe (a RegisterPeer for an id nobody registers, always answered) waits for its
 * answer: the server handles its socket in order, so the burst has been read by then, and the
 * fuzz goes at the server's pace instead of overflowing its receive buffer.
 */
export async function fuzzUdp(
  target: FuzzEndpoint,
  fuzzer: RendezvousFuzzer,
  options: { datagrams: number; sources: readonly string[]; burst: number },
): Promise<UdpFuzzResult> {
  const sockets = new Map<number, Promise<UdpSocket>>();
  const arrivals: UdpArrival[] = [];
  let sendErrors = 0;
  let bytesSent = 0;
  const socketFor = (length: number) => {
    let socket = sockets.get(length);
    if (socket === undefined) {
      socket = bindUdp(options.sources[length % options.sources.length] ?? '127.0.0.1', (message) => {
        const decoded = decodeRendezvous(message);
        arrivals.push({
          requestLength: length,
          length: message.length,
          kind: decoded.ok ? decoded.payload.$case : 'undecodable',
        });
      });
      sockets.set(length, socket);
    }
    return socket;
  };
  const probe = await UdpProbe.open(target, options.sources[0] ?? '127.0.0.1');
  try {
    for (let sent = 0; sent < options.datagrams;) {
      const burst: Promise<void>[] = [];
      for (let i = 0; i < options.burst && sent < options.datagrams; i++, sent++) {
        let payload = fuzzer.payload();
        if (payload.length > MAX_UDP_PAYLOAD) payload = payload.subarray(0, MAX_UDP_PAYLOAD);
        bytesSent += payload.length;
        burst.push(
          socketFor(payload.length).then(
            (socket) =>
              new Promise<void>((resolve) =>
                socket.send(payload, target.port, target.host, (error) => {
                  if (error) sendErrors++;
                  resolve();
                }),
              ),
          ),
        );
      }
      await Promise.all(burst);
      await probe.roundTrip();
    }
    return { sent: options.datagrams, bytesSent, arrivals, sendErrors, probesLost: probe.lost };
  } finally {
    probe.close();
    await Promise.all(
      [...sockets.values()].map(async (pending) => {
        const socket = await pending;
        await new Promise<void>((resolve) => socket.close(() => resolve()));
      }),
    );
  }
}

/** RegisterPeer{id} for an id that is never registered: hbbs always answers it (request_pk). */
class UdpProbe {
  lost = 0;
  private answered: (() => void) | undefined;
  private readonly request = encodeRendezvous({
    $case: 'registerPeer',
    value: { id: 'fuzzprobe', serial: 0 },
  });

  private constructor(
    private readonly socket: UdpSocket,
    private readonly target: FuzzEndpoint,
  ) {
    socket.on('message', () => this.answered?.());
  }

  static async open(target: FuzzEndpoint, source: string): Promise<UdpProbe> {
    return new UdpProbe(await bindUdp(source, () => undefined), target);
  }

  /** Resolves once a probe is answered; a probe lost on the way is counted and sent again. */
  async roundTrip(timeoutMs = 1_000): Promise<void> {
    for (;;) {
      const answered = new Promise<void>((resolve) => (this.answered = resolve));
      this.socket.send(this.request, this.target.port, this.target.host);
      if (await settlesWithin(answered, timeoutMs)) return;
      this.lost++;
    }
  }

  close(): void {
    this.socket.close();
  }
}

async function bindUdp(address: string, onMessage: (message: Buffer) => void): Promise<UdpSocket> {
  const socket = createSocket('udp4');
  socket.on('message', onMessage);
  socket.bind(0, address);
  await once(socket, 'listening');
  return socket;
}

// ------------------------------------------------------------------------------------ TCP streams

type Ending = 'half-close' | 'linger' | 'reset';

interface StreamScript {
  readonly chunks: readonly Buffer[];
  readonly frames: number;
  readonly ending: Ending;
}

/**
 * Frames for one connection: half the time a well-formed prefix the server stays open for, then 1–4
 * fuzz frames (heartbeats, valid, mutated or random payloads, lying headers), cut into random chunks.
 */
function streamScript(
  fuzzer: RendezvousFuzzer,
  options: { only?: readonly RendezvousCase[]; prefix: boolean },
): StreamScript {
  const frames = streamFrames(fuzzer, options).map((frame) => frame.framed);
  return { chunks: chop(Buffer.concat(frames), fuzzer), frames: frames.length, ending: pickEnding(fuzzer) };
}

interface ScriptFrame {
  /** The payload as the server's handlers would see it (what gets sealed or sent as one WS message). */
  readonly payload: Buffer;
  /** The payload with its BytesCodec header, honest or not. */
  readonly framed: Buffer;
}

function streamFrames(
  fuzzer: RendezvousFuzzer,
  options: { only?: readonly RendezvousCase[]; prefix: boolean },
): ScriptFrame[] {
  const r = fuzzer.random;
  const frames: ScriptFrame[] = [];
  if (options.prefix && r.chance(0.5)) {
    for (const payload of fuzzer.survivablePrefix()) frames.push({ payload, framed: encodeFrame(payload) });
  }
  for (let i = r.between(1, 4); i > 0; i--) {
    const payload = r.chance(0.12) ? Buffer.alloc(0) : fuzzer.payload(options.only);
    frames.push({ payload, framed: fuzzer.frame(payload) });
  }
  return frames;
}

function chop(bytes: Buffer, fuzzer: RendezvousFuzzer): Buffer[] {
  const r = fuzzer.random;
  if (r.chance(0.7) || bytes.length < 2) return [bytes];
  // Dribbled in pieces, down to single bytes, so reassembly across reads is exercised.
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const size = r.chance(0.3) ? 1 : r.between(1, 64);
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

function pickEnding(fuzzer: RendezvousFuzzer): Ending {
  const roll = fuzzer.random.next();
  return roll < 0.6 ? 'half-close' : roll < 0.85 ? 'linger' : 'reset';
}

/** A TCP connection with its outcome observed: who closed it, and any error. */
class ObservedSocket {
  readonly closed: Promise<void>;
  closedByServer = false;
  connected = false;
  error: Error | undefined;
  private clientClosing = false;

  constructor(readonly socket: Socket) {
    socket.once('connect', () => (this.connected = true));
    socket.on('error', (error) => (this.error = error));
    socket.on('end', () => {
      if (!this.clientClosing) this.closedByServer = true;
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        if (!this.clientClosing) this.closedByServer = true;
        resolve();
      }),
    );
  }

  static async open(endpoint: { host: string; port: number }, localAddress: string): Promise<ObservedSocket> {
    const socket = connect({ host: endpoint.host, port: endpoint.port, localAddress, noDelay: true });
    const observed = new ObservedSocket(socket);
    await Promise.race([once(socket, 'connect'), observed.closed]);
    return observed;
  }

  async write(chunks: readonly Buffer[]): Promise<void> {
    for (const chunk of chunks) {
      if (this.socket.destroyed || !this.socket.writable) return;
      await new Promise<void>((resolve) => this.socket.write(chunk, () => resolve()));
    }
  }

  async finish(ending: Ending, lingerMs: number): Promise<void> {
    if (ending === 'half-close' && this.socket.writable) {
      this.socket.end();
      if (await settlesWithin(this.closed, 5_000)) return;
    } else if (ending === 'linger') {
      if (await settlesWithin(this.closed, lingerMs)) return;
    }
    this.destroy();
    await this.closed;
  }

  destroy(): void {
    this.clientClosing = true;
    this.socket.destroy();
  }

  record(tally: StreamTally): void {
    if (this.closedByServer) tally.closedByServer++;
    else tally.destroyedByClient++;
    if (this.error) tally.errors++;
  }
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([promise.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}

export interface StreamFuzzOptions {
  readonly connections: number;
  readonly concurrency: number;
  readonly sources: readonly string[];
  /** How long a 'linger' connection waits for the server to close before it is destroyed. */
  readonly lingerMs?: number;
}

/** Plain frames on TCP 21116 (the server's KeyExchange greeting is ignored, as non-secure clients do). */
export function fuzzTcp(target: FuzzEndpoint, fuzzer: RendezvousFuzzer, options: StreamFuzzOptions) {
  return fuzzStreams({ host: target.host, port: target.port }, fuzzer, options, true);
}

/** The NAT-test port serves one TestNatRequest or OnlineRequest per connection (docs/protocol.md §5.8). */
export function fuzzNatTest(target: FuzzEndpoint, fuzzer: RendezvousFuzzer, options: StreamFuzzOptions) {
  const focus: readonly RendezvousCase[] = [
    'testNatRequest',
    'onlineRequest',
    'testNatRequest',
    'registerPk',
  ];
  // Only the first message counts there, so no well-formed prefix.
  return fuzzStreams({ host: target.host, port: target.natTestPort }, fuzzer, options, false, () =>
    fuzzer.random.chance(0.6) ? focus : undefined,
  );
}

async function fuzzStreams(
  endpoint: { host: string; port: number },
  fuzzer: RendezvousFuzzer,
  options: StreamFuzzOptions,
  prefix: boolean,
  focus: () => readonly RendezvousCase[] | undefined = () => undefined,
): Promise<StreamTally> {
  const tally = emptyTally();
  await runPool(options.connections, options.concurrency, async (index) => {
    const script = streamScript(fuzzer, { only: focus(), prefix });
    const socket = await ObservedSocket.open(endpoint, sourceOf(options.sources, index));
    // Whatever the server sends (its KeyExchange greeting, answers) is read and dropped: unread
    // input would hold back the 'end' that tells us the server closed.
    socket.socket.resume();
    tally.connections++;
    tally.frames += script.frames;
    tally.bytes += script.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    await socket.write(script.chunks);
    await socket.finish(script.ending, options.lingerMs ?? 50);
    socket.record(tally);
  });
  return tally;
}

function sourceOf(sources: readonly string[], index: number): string {
  return sources[index % sources.length] ?? '127.0.0.1';
}

/** Reads BytesCodec frames off a socket, for the few drivers that must read the server. */
class FrameReader {
  private readonly decoder = new FrameDecoder(1024 * 1024);
  private readonly frames: Buffer[] = [];
  private waiter: (() => void) | undefined;
  private failed = false;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      try {
        this.frames.push(...this.decoder.push(chunk));
      } catch {
        this.failed = true;
      }
      this.waiter?.();
    });
    socket.once('close', () => {
      this.failed = true;
      this.waiter?.();
    });
  }

  async next(timeoutMs: number): Promise<Buffer | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0 && !this.failed && Date.now() < deadline) {
      await settlesWithin(new Promise<void>((resolve) => (this.waiter = resolve)), deadline - Date.now());
    }
    return this.frames.shift();
  }
}

/**
 * TCP 21116 inside a secured session (docs/protocol.md §4): check the server's signed box key against the
 * Key, answer with our box key and sealed session key, then send secretbox'd fuzz frames. Some
 * sessions send a broken KeyExchange instead, or a frame that cannot decrypt.
 */
export async function fuzzSecureTcp(
  target: FuzzEndpoint,
  fuzzer: RendezvousFuzzer,
  serverKey: Uint8Array,
  options: StreamFuzzOptions,
): Promise<StreamTally & { secured: number; offersRejected: number }> {
  const tally = { ...emptyTally(), secured: 0, offersRejected: 0 };
  const r = fuzzer.random;
  await runPool(options.connections, options.concurrency, async (index) => {
    const socket = await ObservedSocket.open(target, sourceOf(options.sources, index));
    tally.connections++;
    const reader = new FrameReader(socket.socket);
    const offer = await reader.next(10_000);
    const decoded = offer === undefined ? undefined : decodeRendezvous(offer);
    if (!decoded?.ok || decoded.payload.$case !== 'keyExchange') {
      tally.offersRejected++;
      socket.destroy();
      await socket.closed;
      socket.record(tally);
      return;
    }
    const answer = answerServerKeyExchange(decoded.payload.value.keys, serverKey);
    if (!answer.ok) throw new Error(`the server's KeyExchange does not verify: ${answer.error.kind}`);
    const frames: Buffer[] = [];
    if (r.chance(0.1)) {
      // A KeyExchange the server must refuse: wrong count, wrong lengths, or a box that does not open.
      frames.push(fuzzer.frame(encodeRendezvous(fuzzer.message(['keyExchange']))));
    } else {
      frames.push(encodeFrame(encodeRendezvous({ $case: 'keyExchange', value: { keys: [...answer.keys] } })));
      tally.secured++;
    }
    for (const frame of streamFrames(fuzzer, { prefix: true }))
      frames.push(sealed(fuzzer, answer.cipher, frame));
    tally.frames += frames.length;
    const chunks = chop(Buffer.concat(frames), fuzzer);
    tally.bytes += chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    await socket.write(chunks);
    await socket.finish(pickEnding(fuzzer), options.lingerMs ?? 50);
    socket.record(tally);
  });
  return tally;
}

/** The frame's payload sealed (heartbeats stay plaintext, §4 step 4), or now and then one that cannot decrypt. */
function sealed(fuzzer: RendezvousFuzzer, cipher: FrameCipher, frame: ScriptFrame): Buffer {
  if (fuzzer.random.chance(0.03)) return encodeFrame(fuzzer.random.bytes(fuzzer.random.between(2, 200)));
  const header = frame.framed.length - frame.payload.length;
  // Honest header: seal and frame again; lying header: keep the lie around the sealed bytes.
  if (frame.framed.equals(encodeFrame(frame.payload))) return encodeFrame(cipher.seal(frame.payload));
  return Buffer.concat([frame.framed.subarray(0, header), cipher.seal(frame.payload)]);
}

// -------------------------------------------------------------------------------------- WebSocket

const WS_MAX_PAYLOAD = 64 * 1024;

/** One bare message per binary WS message (docs/protocol.md §1), text messages, empty and oversized ones. */
export async function fuzzWebSocket(
  target: FuzzEndpoint,
  fuzzer: RendezvousFuzzer,
  options: StreamFuzzOptions,
): Promise<StreamTally> {
  const tally = emptyTally();
  const r = fuzzer.random;
  await runPool(options.connections, options.concurrency, async (index) => {
    const path = r.pick(['/', '/ws/id', `/${r.text(20).replace(/[^A-Za-z0-9]/g, '')}`]);
    const socket = new WebSocket(`ws://${target.host}:${target.wsPort}${path}`, {
      localAddress: sourceOf(options.sources, index),
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    let closedByServer = true;
    let failed = false;
    socket.on('error', () => (failed = true));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await Promise.race([once(socket, 'open').catch(() => undefined), closed]);
    tally.connections++;
    const messages = streamFrames(fuzzer, { prefix: true }).map((frame) =>
      r.chance(0.01) ? r.bytes(WS_MAX_PAYLOAD + 1 + r.int(1024)) : frame.payload,
    );
    for (const message of messages) {
      if (socket.readyState !== WebSocket.OPEN) break;
      tally.frames++;
      tally.bytes += message.length;
      if (r.chance(0.05)) socket.send(message.toString('latin1'), { binary: false });
      else socket.send(message, { binary: true });
    }
    const ending = pickEnding(fuzzer);
    if (ending === 'half-close' && socket.readyState === WebSocket.OPEN) {
      closedByServer = false;
      socket.close(1000);
    } else if (ending === 'linger' && (await settlesWithin(closed, options.lingerMs ?? 50))) {
      closedByServer = true;
    } else if (socket.readyState !== WebSocket.CLOSED) {
      closedByServer = false;
    }
    if (!(await settlesWithin(closed, 2_000))) {
      closedByServer = false;
      socket.terminate();
      await closed;
    }
    if (closedByServer) tally.closedByServer++;
    else tally.destroyedByClient++;
    if (failed) tally.errors++;
  });
  return tally;
}

/**
 * WebSocket frames whose header announces far more than any cap (up to 2^53−1 bytes), and plain
 * garbage where the HTTP upgrade should be: things no WS library will send for us.
 */
export async function fuzzWebSocketHeaders(
  target: FuzzEndpoint,
  fuzzer: RendezvousFuzzer,
  options: StreamFuzzOptions,
): Promise<StreamTally> {
  const tally = emptyTally();
  const r = fuzzer.random;
  await runPool(options.connections, options.concurrency, async (index) => {
    const socket = await ObservedSocket.open(
      { host: target.host, port: target.wsPort },
      sourceOf(options.sources, index),
    );
    tally.connections++;
    tally.frames++;
    if (r.chance(0.3)) {
      await socket.write([r.bytes(r.between(1, 2000))]);
    } else {
      const upgraded = new Promise<boolean>((resolve) => {
        let head = '';
        socket.socket.on('data', (chunk: Buffer) => {
          head += chunk.toString('latin1');
          if (head.includes('\r\n\r\n')) resolve(head.startsWith('HTTP/1.1 101'));
        });
        socket.socket.once('close', () => resolve(false));
      });
      await socket.write([Buffer.from(upgradeRequest())]);
      if (await upgraded) await socket.write([hugeWebSocketFrameHeader(fuzzer)]);
    }
    await socket.finish('linger', 2_000);
    socket.record(tally);
  });
  return tally;
}

function upgradeRequest(): string {
  return [
    'GET /ws/id HTTP/1.1',
    'Host: signal',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    '',
    '',
  ].join('\r\n');
}

/** A masked binary frame header announcing a 64-bit length (RFC 6455 §5.2), with a little payload. */
function hugeWebSocketFrameHeader(fuzzer: RendezvousFuzzer): Buffer {
  const length = fuzzer.random.pick([2 ** 53 - 1, 2 ** 40, 2 ** 31, WS_MAX_PAYLOAD + 1]);
  const header = Buffer.alloc(14);
  header[0] = 0x82;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  randomBytes(4).copy(header, 10);
  return Buffer.concat([header, fuzzer.random.bytes(64)]);
}

// ------------------------------------------------------------------------- silent and flooding clients

export interface SilentConnection {
  readonly listener: 'tcp' | 'nat-test' | 'ws' | 'ws-before-upgrade';
  readonly openedAt: number;
  /** When the server closed it; undefined while open (or if the client closed it). */
  closedAt: number | undefined;
  close(): void;
}

/**
 * Connections that never send a byte (a WebSocket that completes its upgrade and then says nothing
 * counts as one too). The server owes them a close after its first-message timeout.
 */
export async function openSilentConnections(
  target: FuzzEndpoint,
  options: { perListener: number; sources: readonly string[] },
): Promise<SilentConnection[]> {
  const opened: Promise<SilentConnection>[] = [];
  for (let i = 0; i < options.perListener; i++) {
    const source = sourceOf(options.sources, i);
    opened.push(silentTcp('tcp', { host: target.host, port: target.port }, source));
    opened.push(silentTcp('nat-test', { host: target.host, port: target.natTestPort }, source));
    opened.push(silentTcp('ws-before-upgrade', { host: target.host, port: target.wsPort }, source));
    opened.push(silentWebSocket(target, source));
  }
  return Promise.all(opened);
}

async function silentTcp(
  listener: SilentConnection['listener'],
  endpoint: { host: string; port: number },
  source: string,
): Promise<SilentConnection> {
  const socket = await ObservedSocket.open(endpoint, source);
  const connection: SilentConnection = {
    listener,
    openedAt: Date.now(),
    closedAt: undefined,
    close: () => socket.destroy(),
  };
  // The server's greeting (the KeyExchange on 21116) is read and ignored: this client never writes.
  socket.socket.resume();
  void socket.closed.then(() => {
    if (socket.closedByServer) connection.closedAt = Date.now();
  });
  return connection;
}

async function silentWebSocket(target: FuzzEndpoint, source: string): Promise<SilentConnection> {
  const socket = new WebSocket(`ws://${target.host}:${target.wsPort}/ws/id`, {
    localAddress: source,
    perMessageDeflate: false,
  });
  let clientClosed = false;
  socket.on('error', () => undefined);
  await once(socket, 'open');
  const connection: SilentConnection = {
    listener: 'ws',
    openedAt: Date.now(),
    closedAt: undefined,
    close: () => {
      clientClosed = true;
      socket.terminate();
    },
  };
  socket.once('close', () => {
    if (!clientClosed) connection.closedAt = Date.now();
  });
  return connection;
}

export interface FloodResult {
  readonly opened: number;
  /** Connections the server closed within the observation window without our sending anything. */
  readonly closedByServer: number;
  /** Connections refused outright (connect failed). */
  readonly refused: number;
  close(): Promise<void>;
}

/** `count` TCP connections from one address, as fast as it can, none of which ever sends. */
export async function floodConnections(
  endpoint: { host: string; port: number },
  source: string,
  count: number,
  observeMs: number,
): Promise<FloodResult> {
  const sockets: ObservedSocket[] = [];
  let refused = 0;
  await runPool(count, 200, async () => {
    const socket = await ObservedSocket.open(endpoint, source);
    socket.socket.resume();
    if (socket.connected) sockets.push(socket);
    else refused++;
  });
  await sleep(observeMs);
  const closedByServer = sockets.filter((socket) => socket.closedByServer).length;
  return {
    opened: sockets.length,
    closedByServer,
    refused,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(sockets.map((socket) => socket.closed));
    },
  };
}

/**
 * One connection that sends `frames` empty frames (heartbeats, the cheapest legal input) in one go,
 * then waits: whether the server closed it within `observeMs`, and how soon.
 */
export async function floodFrames(
  endpoint: { host: string; port: number },
  source: string,
  frames: number,
  observeMs: number,
): Promise<{ closedByServer: boolean; closedAfterMs: number | undefined }> {
  const socket = await ObservedSocket.open(endpoint, source);
  socket.socket.resume();
  const started = Date.now();
  await socket.write([Buffer.concat(Array.from({ length: frames }, () => encodeFrame(Buffer.alloc(0))))]);
  const closed = await settlesWithin(socket.closed, observeMs);
  const closedAfterMs = closed ? Date.now() - started : undefined;
  if (!closed) {
    socket.destroy();
    await socket.closed;
  }
  return { closedByServer: socket.closedByServer, closedAfterMs };
}
