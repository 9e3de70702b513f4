import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Socket } from 'node:net';

import { type SinkCommand, type SinkReport } from './byte-sink';
import { dial, joinRelay } from './endpoints';
import { cpuSeconds, type Forwarder, startSocat } from './forwarders';

// One session's throughput, measured the same way on every path: the clock starts when the sender
// writes its first byte and stops when the receiver (a process of its own, byte-sink.ts) reports the
// last one counted. Only the hop in between differs.

export type TransferPath = 'direct' | 'socat' | 'relay';

const CHUNK = Buffer.allocUnsafe(64 * 1024);
randomFillSync(CHUNK);

export interface TransferResult {
  seconds: number;
  /** CPU seconds (user + system) the hop in between used, when there is one. */
  hopCpuSeconds?: number;
}

export async function measureTransfer(
  path: TransferPath,
  bytes: number,
  relay: { port: number; pid: number },
): Promise<TransferResult> {
  const relayPort = relay.port;
  const sink = fork(resolve(__dirname, 'byte-sink.ts'), [], { execArgv: ['-r', '@swc-node/register'] });
  let socat: Forwarder | undefined;
  let sender: Socket | undefined;
  try {
    const uuid = `bench-throughput-${process.pid}-${performance.now()}`;
    const ready = await ask(
      sink,
      path === 'relay' ? { kind: 'join', relayPort, uuid, bytes } : { kind: 'listen', bytes },
    );
    if (ready.kind !== 'ready') throw new Error('byte sink reported before it was ready');
    if (path === 'socat') socat = await startSocat(ready.port);
    sender =
      path === 'relay'
        ? await joinRelay(relayPort, uuid, 'bench-controller')
        : await dial(socat?.port ?? ready.port);
    // socat forks a child per connection, which does the forwarding; it exists once we are connected.
    const hopPid = path === 'relay' ? relay.pid : socat ? await forkedChild(socat.pid) : undefined;
    const hopCpuBefore = hopPid === undefined ? 0 : cpuSeconds(hopPid);
    const received = next(sink);
    const started = performance.now();
    await sendAll(sender, bytes);
    const report = await received;
    if (report.kind !== 'received' || report.bytes !== bytes) throw new Error(`sink reported ${report.kind}`);
    const seconds = (performance.now() - started) / 1000;
    return {
      seconds,
      hopCpuSeconds: hopPid === undefined ? undefined : cpuSeconds(hopPid) - hopCpuBefore,
    };
  } finally {
    sender?.destroy();
    await socat?.stop();
    await stopSink(sink);
  }
}

async function forkedChild(pid: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const [child] = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    if (child) return Number(child);
    await new Promise((done) => setTimeout(done, 10));
  }
  throw new Error(`socat ${pid} forked no child for the connection`);
}

async function ask(sink: ChildProcess, command: SinkCommand): Promise<SinkReport> {
  const reply = next(sink);
  sink.send(command);
  return reply;
}

async function next(sink: ChildProcess): Promise<SinkReport> {
  return Promise.race([
    once(sink, 'message').then(([report]) => report as SinkReport),
    once(sink, 'exit').then(([code]) => {
      throw new Error(`byte sink exited with ${String(code)}`);
    }),
  ]);
}

async function stopSink(sink: ChildProcess): Promise<void> {
  if (sink.exitCode !== null) return;
  const exited = once(sink, 'exit');
  sink.disconnect();
  await exited;
}

async function sendAll(socket: Socket, bytes: number): Promise<void> {
  let left = bytes;
  while (left > 0) {
    const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    left -= chunk.length;
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
}
