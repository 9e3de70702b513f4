// TLS on signal's TCP port: handshakes per second on a dual-mode 21116 against a bare Node
// `tls.createServer` with the same certificate, and what dual mode costs a plain client.
//   node -r @swc-node/register bench/signal-tls-handshake.bench.ts
// The servers run in this thread, the clients in a worker thread (the same loop for every server),
// in interleaved rounds; the median round is reported. Knobs (environment, read only here):
//   BENCH_CONCURRENCY (16)  connections in flight
//   BENCH_SECONDS (5)       length of each round
//   BENCH_ROUNDS (3)        rounds per server
//   BENCH_PLAIN_AFTER_MS (200)  SIGNAL_TLS_PLAIN_AFTER_MS of the dual-mode signal
// Part 1 runs the core without a signing key, so a TLS connection costs the acceptor and the core's
// accept and nothing else (no secure-TCP offer). Part 2 uses a signing key, as deployments do.
import { once } from 'node:events';
import { type AddressInfo, connect as connectTcp, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as connectTls, createServer as createTlsServer } from 'node:tls';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import { generateIdentityKeyPair, type ServerKey } from '@switchboard/crypto';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { encodeFrame, encodeRendezvous } from '@switchboard/protocol';
import { type ListenerTlsMode, ThrowawayCa, TlsCredentials, TlsListenerMetrics } from '@switchboard/tls';
import { TrustedProxies } from '@switchboard/transport';

import {
  LoggingDeviceWriter,
  LoggingRelayTickets,
  OpenAccess,
  StaticRelayPicker,
} from '../apps/signal/src/defaults';
import { SignalServer } from '../apps/signal/src/server';
import { SignalCore } from '../apps/signal/src/signal-core';

/** What a client loop does per connection. */
type ClientKind = 'tls-handshake' | 'plain-first-frame' | 'plain-online-query';

interface ClientJob {
  kind: ClientKind;
  port: number;
  ca: string;
  concurrency: number;
  seconds: number;
}

interface ClientResult {
  done: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
}

const ONLINE_REQUEST = Buffer.from(
  encodeFrame(encodeRendezvous({ $case: 'onlineRequest', value: { id: '100000001', peers: ['100000002'] } })),
);

/** One connection: resolves when it reached what `kind` waits for, then it is closed. */
function oneConnection(job: ClientJob): Promise<void> {
  return new Promise((resolve, reject) => {
    if (job.kind === 'tls-handshake') {
      const socket = connectTls({ host: '127.0.0.1', port: job.port, ca: job.ca, servername: 'localhost' });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
      return;
    }
    const socket = connectTcp({ host: '127.0.0.1', port: job.port, noDelay: true });
    if (job.kind === 'plain-online-query') socket.once('connect', () => socket.write(ONLINE_REQUEST));
    socket.once('data', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before an answer')));
  });
}

async function runClients(job: ClientJob): Promise<ClientResult> {
  const latenciesMs: number[] = [];
  let errors = 0;
  const started = performance.now();
  const until = started + job.seconds * 1000;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (performance.now() < until) {
        const at = performance.now();
        try {
          await oneConnection(job);
          latenciesMs.push(performance.now() - at);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  return { done: latenciesMs.length, errors, seconds: (performance.now() - started) / 1000, latenciesMs };
}

if (!isMainThread) {
  // Inherits `-r @swc-node/register` from the main thread's execArgv.
  void runClients(workerData as ClientJob).then((result) => parentPort?.postMessage(result));
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

function inWorker(job: ClientJob): Promise<ClientResult> {
  const worker = new Worker(__filename, { workerData: job });
  return once(worker, 'message').then(([result]) => result as ClientResult);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

const logger = createLogger({ name: 'bench', level: 'silent' });

/** SIGNAL_TLS_PLAIN_AFTER_MS, its default unless BENCH_PLAIN_AFTER_MS says otherwise. */
const plainAfterSilenceMs = Number(process.env['BENCH_PLAIN_AFTER_MS'] ?? 200);

async function startSignal(
  mode: ListenerTlsMode,
  credentials: TlsCredentials,
  serverKey: ServerKey,
): Promise<SignalServer> {
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const core = new SignalCore({
    logger,
    registry,
    serverKey,
    access: new OpenAccess(),
    writer: new LoggingDeviceWriter(logger),
    relays: new StaticRelayPicker([]),
    tickets: new LoggingRelayTickets(logger),
    // Every bench connection comes from 127.0.0.1: the per-IP caps would be the bench's limit.
    limits: {
      maxConnectionsPerIp: 1_000_000,
      newConnectionsPerIp: 1_000_000_000,
      framesPerIp: 1_000_000_000,
      onlineQueryIdsPerIp: 1_000_000_000,
    },
  });
  const server = new SignalServer(core, {
    ports: { host: '127.0.0.1', port: 0, natTestPort: 0, wsPort: 0 },
    trustedProxies: new TrustedProxies([]),
    logger,
    tls: {
      tcpMode: mode,
      wsMode: 'off',
      credentials,
      metrics: new TlsListenerMetrics(registry),
      handshakeTimeoutMs: 10_000,
      maxPendingHandshakes: 4_096,
      plainAfterSilenceMs,
    },
  });
  await server.start();
  return server;
}

async function main(): Promise<void> {
  const env = process.env;
  const positive = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
    return value;
  };
  const concurrency = positive('BENCH_CONCURRENCY', 16);
  const seconds = positive('BENCH_SECONDS', 5);
  const rounds = positive('BENCH_ROUNDS', 3);

  const ca = await ThrowawayCa.create();
  try {
    const files = await ca.issueServer();
    const credentials = await TlsCredentials.load({
      files: { certFile: files.certFile, keyFile: files.keyFile },
      logger,
      registry: createMetricsRegistry({ defaultMetrics: false }),
      reloadIntervalMs: 0,
    });
    console.log(
      `signal TLS handshake bench: ${concurrency} in flight, ${rounds} × ${seconds} s per server, node ${process.version}, ` +
        `certificate ${credentials.certificate.leaf.publicKey.asymmetricKeyType ?? '?'}`,
    );
    const job = (kind: ClientKind, port: number): ClientJob => ({
      kind,
      port,
      ca: ca.certPem,
      concurrency,
      seconds,
    });
    const line = (name: string, results: ClientResult[], unit: string): number => {
      const rates = results.map((result) => result.done / result.seconds);
      const rate = median(rates);
      const latencies = results.flatMap((result) => result.latenciesMs);
      const errors = results.reduce((sum, result) => sum + result.errors, 0);
      console.log(
        `${name.padEnd(34)} ${rate.toFixed(0).padStart(6)} ${unit}/s  p50 ${percentile(latencies, 50).toFixed(2)} ms` +
          `  p99 ${percentile(latencies, 99).toFixed(2)} ms  errors ${errors}  (rounds ${rates.map((r) => r.toFixed(0)).join(', ')})`,
      );
      return rate;
    };

    // Part 1: handshakes, bare Node TLS server vs the dual-mode signal port, same certificate.
    const bare = createTlsServer({ cert: files.certPem, key: files.keyPem }, (socket) => {
      socket.on('error', () => undefined);
    });
    bare.listen(0, '127.0.0.1');
    await once(bare, 'listening');
    const barePort = (bare.address() as AddressInfo).port;
    const noKey: ServerKey = { licenceKey: undefined, signingKeyPair: undefined };
    const dual = await startSignal('dual', credentials, noKey);
    await inWorker({ ...job('tls-handshake', barePort), seconds: 1 });
    await inWorker({ ...job('tls-handshake', dual.addresses.tcp.port), seconds: 1 });
    const bareRounds: ClientResult[] = [];
    const dualRounds: ClientResult[] = [];
    for (let round = 0; round < rounds; round++) {
      bareRounds.push(await inWorker(job('tls-handshake', barePort)));
      dualRounds.push(await inWorker(job('tls-handshake', dual.addresses.tcp.port)));
    }
    const bareRate = line('bare tls.createServer', bareRounds, 'handshakes');
    const dualRate = line('signal 21116, SIGNAL_TLS=dual', dualRounds, 'handshakes');
    console.log(`ratio dual/bare ${(dualRate / bareRate).toFixed(2)}`);
    await closeServer(bare);
    await dual.close();

    // Part 2: plain clients, SIGNAL_TLS=off vs dual, with a signing key (secure TCP offered on 21116).
    const serverKey: ServerKey = { licenceKey: undefined, signingKeyPair: generateIdentityKeyPair() };
    const off = await startSignal('off', credentials, serverKey);
    const dualKeyed = await startSignal('dual', credentials, serverKey);
    for (const [name, kind, port] of [
      ['21115 online query', 'plain-online-query', (server: SignalServer) => server.addresses.natTest.port],
      ['21116 until KeyExchange', 'plain-first-frame', (server: SignalServer) => server.addresses.tcp.port],
    ] as const) {
      const offRounds: ClientResult[] = [];
      const dualPlainRounds: ClientResult[] = [];
      for (let round = 0; round < rounds; round++) {
        offRounds.push(await inWorker(job(kind, port(off))));
        dualPlainRounds.push(await inWorker(job(kind, port(dualKeyed))));
      }
      const offRate = line(`plain ${name}, off`, offRounds, 'conns');
      const dualPlainRate = line(`plain ${name}, dual`, dualPlainRounds, 'conns');
      console.log(`ratio dual/off ${(dualPlainRate / offRate).toFixed(2)}`);
    }
    await off.close();
    await dualKeyed.close();
  } finally {
    await ca.dispose();
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
