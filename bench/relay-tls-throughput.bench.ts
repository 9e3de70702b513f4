// Relay TLS benchmark, in one run on loopback (bench/README.md "relay TLS"):
//   (1) one session's throughput with both legs over TLS through the real relay process (RELAY_TLS=dual),
//       against socat with OpenSSL on both legs, the same certificate, the same bytes;
//   (2) plain clients through a relay with RELAY_TLS=dual against one with TLS off: the dual port's
//       first-byte sniff must cost a plain session nothing measurable.
//   node -r @swc-node/register bench/relay-tls-throughput.bench.ts
// The receiving end runs in a child process of its own (this file, with the argument `sink`).
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { randomFillSync } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer, type TLSSocket } from 'node:tls';

import { issueSelfSignedCertificate } from '@switchboard/tls';

import { requestRelayFrame } from './relay/endpoints';
import { buildRelay, cpuSeconds, type Forwarder, startRelay, startSocat } from './relay/forwarders';
import { measureTransfer } from './relay/throughput';

const MIB = 1024 * 1024;
const CHUNK = Buffer.allocUnsafe(64 * 1024);
randomFillSync(CHUNK);

type SinkCommand =
  | { kind: 'listen'; bytes: number; certFile: string; keyFile: string }
  | { kind: 'join'; port: number; uuid: string; bytes: number };
type SinkReport = { kind: 'ready'; port: number } | { kind: 'received'; bytes: number };

// ---- the receiving end (child process) ----

function count(socket: Socket, bytes: number): void {
  let received = 0;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received === bytes) process.send?.({ kind: 'received', bytes } satisfies SinkReport);
  });
  socket.once('close', () => {
    if (received < bytes) fail(new Error(`closed after ${received} of ${bytes} bytes`));
  });
  socket.once('error', fail);
}

async function sink(command: SinkCommand): Promise<void> {
  if (command.kind === 'listen') {
    const server = createTlsServer(
      { cert: readFileSync(command.certFile), key: readFileSync(command.keyFile) },
      (socket) => {
        server.close();
        count(socket, command.bytes);
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    process.send?.({ kind: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
    return;
  }
  const socket = await dialTls(command.port);
  socket.write(requestRelayFrame(command.uuid));
  count(socket, command.bytes);
  process.send?.({ kind: 'ready', port: command.port } satisfies SinkReport);
}

function fail(error: unknown): void {
  console.error('TLS byte sink failed:', error);
  process.exit(1);
}

// ---- the bench (parent) ----

/** Both ends accept any certificate: what is measured is the record layer, not the chain check. */
async function dialTls(port: number): Promise<TLSSocket> {
  const socket = connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false });
  await once(socket, 'secureConnect');
  return socket;
}

async function sendAll(socket: Socket, bytes: number): Promise<void> {
  for (let left = bytes; left > 0;) {
    const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    left -= chunk.length;
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
}

function next(child: ChildProcess): Promise<SinkReport> {
  return Promise.race([
    once(child, 'message').then(([report]) => report as SinkReport),
    once(child, 'exit').then(([code]) => {
      throw new Error(`TLS byte sink exited with ${String(code)}`);
    }),
  ]);
}

async function forkedChild(pid: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const [child] = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    if (child) return Number(child);
    await new Promise((done) => setTimeout(done, 10));
  }
  throw new Error(`socat ${pid} forked no child for the connection`);
}

type TlsPath = 'socat' | 'relay';

/** One TLS transfer: the clock runs from the first write to the sink's report of the last byte. */
async function tlsTransfer(
  path: TlsPath,
  bytes: number,
  relay: Forwarder,
  pair: { certFile: string; keyFile: string },
): Promise<{ seconds: number; hopCpuSeconds: number }> {
  const child = fork(__filename, ['sink'], { execArgv: ['-r', '@swc-node/register'] });
  let socat: Forwarder | undefined;
  let sender: TLSSocket | undefined;
  try {
    const uuid = `bench-tls-${process.pid}-${performance.now()}`;
    const ready = next(child);
    child.send(
      (path === 'relay'
        ? { kind: 'join', port: relay.port, uuid, bytes }
        : { kind: 'listen', bytes, ...pair }) satisfies SinkCommand,
    );
    const report = await ready;
    if (report.kind !== 'ready') throw new Error('sink reported before it was ready');
    if (path === 'socat') socat = await startSocat(report.port, pair);
    sender = await dialTls(socat?.port ?? relay.port);
    if (path === 'relay') sender.write(requestRelayFrame(uuid, 'bench-controller'));
    const hopPid = socat ? await forkedChild(socat.pid) : relay.pid;
    const cpuBefore = cpuSeconds(hopPid);
    const received = next(child);
    const started = performance.now();
    await sendAll(sender, bytes);
    const done = await received;
    if (done.kind !== 'received') throw new Error('sink did not receive everything');
    return { seconds: (performance.now() - started) / 1000, hopCpuSeconds: cpuSeconds(hopPid) - cpuBefore };
  } finally {
    sender?.destroy();
    await socat?.stop();
    if (child.exitCode === null) {
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    }
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

async function main(): Promise<void> {
  const env = process.env;
  const transferMiB = Number(env['BENCH_TRANSFER_MIB'] ?? 512);
  const rounds = Number(env['BENCH_ROUNDS'] ?? 3);
  const redisUrl = env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  if (env['BENCH_BUILD'] !== '0') console.log(`built the relay in ${buildRelay().toFixed(1)} s`);
  const dir = await mkdtemp(join(tmpdir(), 'bench-relay-tls-'));
  const { certPem, keyPem } = await issueSelfSignedCertificate(['localhost', '127.0.0.1'], 1);
  const pair = { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') };
  await writeFile(pair.certFile, certPem);
  await writeFile(pair.keyFile, keyPem, { mode: 0o600 });
  await chmod(pair.keyFile, 0o600);
  const nodeArgs = (env['BENCH_RELAY_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
  const common = { redisUrl, maxConnectionsPerIp: 100, nodeArgs };
  const dual = await startRelay({
    ...common,
    redisKeyPrefix: `bench-relay-tls-${process.pid}-dual`,
    env: {
      TLS_CERT_FILE: pair.certFile,
      TLS_KEY_FILE: pair.keyFile,
      RELAY_TLS: 'dual',
      RELAY_WS_TLS: 'dual',
    },
  });
  const off = await startRelay({ ...common, redisKeyPrefix: `bench-relay-tls-${process.pid}-off` });
  const parts = new Set((env['BENCH_PARTS'] ?? 'tls,plain').split(','));
  const bytes = transferMiB * MIB;
  const rates: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const record = (name: string, seconds: number, hopCpuSeconds: number | undefined) => {
    const rate = bytes / MIB / seconds;
    (rates[name] ??= []).push(rate);
    const perGiB = hopCpuSeconds === undefined ? undefined : hopCpuSeconds / (bytes / (1024 * MIB));
    if (perGiB !== undefined) (cpu[name] ??= []).push(perGiB);
    const cpuText = perGiB === undefined ? '' : `, hop CPU ${perGiB.toFixed(2)} s/GiB`;
    console.log(`  ${name.padEnd(22)} ${rate.toFixed(0).padStart(6)} MiB/s${cpuText}`);
  };
  try {
    console.log(
      `load average at start: ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
    );
    for (let round = 1; round <= rounds; round++) {
      console.log(`round ${round}`);
      // Interleaved, so load from elsewhere on the host hits every path alike.
      for (const path of parts.has('tls') ? (['socat', 'relay'] as const) : []) {
        const result = await tlsTransfer(path, bytes, dual, pair);
        record(`tls ${path}`, result.seconds, result.hopCpuSeconds);
      }
      const plain = [
        ['plain via relay off', off],
        ['plain via relay dual', dual],
      ] as const;
      for (const [name, relay] of parts.has('plain') ? plain : []) {
        const result = await measureTransfer('relay', bytes, relay);
        record(name, result.seconds, result.hopCpuSeconds);
      }
    }
  } finally {
    await Promise.all([dual.stop(), off.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
  const rate = (name: string) => median(rates[name] ?? []);
  const hop = (name: string) => median(cpu[name] ?? []);
  console.log(
    `\nload average at end: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `(1) TLS↔TLS socat (OpenSSL both legs)  ${rate('tls socat').toFixed(0)} MiB/s (${fmt(rates['tls socat'])})`,
  );
  console.log(
    `(1) TLS↔TLS relay (RELAY_TLS=dual)     ${rate('tls relay').toFixed(0)} MiB/s (${fmt(rates['tls relay'])})`,
  );
  console.log(
    `(1) relay / socat                      ${(rate('tls relay') / rate('tls socat')).toFixed(2)}x`,
  );
  console.log(
    `(1) hop CPU per GiB socat / relay      ${hop('tls socat').toFixed(2)} s / ${hop('tls relay').toFixed(2)} s`,
  );
  console.log(
    `(2) plain, RELAY_TLS=off               ${rate('plain via relay off').toFixed(0)} MiB/s (${fmt(rates['plain via relay off'])})`,
  );
  console.log(
    `(2) plain, RELAY_TLS=dual              ${rate('plain via relay dual').toFixed(0)} MiB/s (${fmt(rates['plain via relay dual'])})`,
  );
  console.log(
    `(2) dual / off                         ${(rate('plain via relay dual') / rate('plain via relay off')).toFixed(2)}x`,
  );
  console.log(
    `(2) relay CPU per GiB off / dual        ${hop('plain via relay off').toFixed(2)} s / ${hop('plain via relay dual').toFixed(2)} s`,
  );
}

function fmt(values: readonly number[] | undefined): string {
  return (values ?? []).map((value) => value.toFixed(0)).join(', ');
}

if (process.argv[2] === 'sink') {
  process.once('message', (command: SinkCommand) => void sink(command).catch(fail));
  process.on('disconnect', () => process.exit(0));
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
