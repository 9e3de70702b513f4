// Signal benchmark, in one run (bench/README.md "signal"):
//   (a) UDP RegisterPeer heartbeats per second sustained by one signal process holding 100,000
//       registered peers, driven by load-generator processes that count the replies they get;
//   (b) the same load generators against a bare Node UDP echo server: the ratio (a)/(b);
//   (c) memory per registered peer at 1,000,000 peers, after a full GC, from the process's /metrics.
//   node -r @swc-node/register bench/signal/main.ts
// The signal under test is the real one, compiled by swc as deployments run it, with a scratch
// database of its own. Knobs are environment variables, read only here.
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';

import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import {
  collectGarbage,
  inspectorUrl,
  metricSum,
  type ProcessMemory,
  readProcessMemory,
  scrapeMetrics,
} from '../../apps/e2e/src/support/process-probe';
import { type SignalProcess, startSignal } from '../../apps/e2e/src/support/signal-process';
import { type HeartbeatReport, type RegisterReport, type WorkerCommand } from './load-worker';

const ROOT = resolve(__dirname, '../..');
const BUILD_DIR = 'var/bench/signal-build';
const COMPILED_MAIN = `${BUILD_DIR}/apps/signal/src/main.js`;

interface BenchOptions {
  databaseUrl: string | undefined;
  /** Unset: a private redis-server for the run (the signal has no Redis prefix setting, and other
   * processes publishing ban events on the shared default channel would remove bench peers). */
  redisUrl: string | undefined;
  heartbeatPeers: number;
  memoryPeers: number;
  workers: number;
  socketsPerWorker: number;
  window: number;
  seconds: number;
  rounds: number;
  build: boolean;
}

function readOptions(env: NodeJS.ProcessEnv): BenchOptions {
  const positive = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
    return value;
  };
  const options = {
    databaseUrl: env['DATABASE_URL'] || undefined,
    redisUrl: env['REDIS_URL'] || undefined,
    heartbeatPeers: positive('BENCH_HEARTBEAT_PEERS', 100_000),
    memoryPeers: positive('BENCH_MEMORY_PEERS', 1_000_000),
    workers: positive('BENCH_WORKERS', 2),
    socketsPerWorker: positive('BENCH_SOCKETS', 16),
    window: positive('BENCH_WINDOW', 4),
    seconds: positive('BENCH_SECONDS', 10),
    rounds: positive('BENCH_ROUNDS', 2),
    build: env['BENCH_BUILD'] !== '0',
  };
  if (options.memoryPeers < options.heartbeatPeers) {
    throw new Error('BENCH_MEMORY_PEERS must be at least BENCH_HEARTBEAT_PEERS');
  }
  return options;
}

/** Load-generator processes (TypeScript through swc), one IPC request at a time each. */
class LoadWorkers {
  private constructor(private readonly children: ChildProcess[]) {}

  static start(count: number): LoadWorkers {
    return new LoadWorkers(
      Array.from({ length: count }, () =>
        fork(resolve(__dirname, 'load-worker.ts'), [], { cwd: ROOT, execArgv: ['-r', '@swc-node/register'] }),
      ),
    );
  }

  /** Sends each worker its command and waits for every report. */
  run<R>(commands: readonly WorkerCommand[]): Promise<R[]> {
    return Promise.all(
      commands.map(async (command, index) => {
        const child = this.children[index];
        if (!child) throw new Error(`no worker ${index}`);
        const reply = Promise.race([
          once(child, 'message') as Promise<[R]>,
          once(child, 'exit').then(([code]) => {
            throw new Error(`load worker ${index} exited with ${String(code)}`);
          }),
        ]);
        child.send(command);
        return (await reply)[0];
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null) return;
        const exited = once(child, 'exit');
        child.disconnect();
        await exited;
      }),
    );
  }
}

/** A throwaway redis-server on a free port: no persistence, gone with the run. */
async function startPrivateRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freeTcpPort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('redis-server did not start');
    await sleep(100);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.once('data', (reply) => {
      socket.destroy();
      done(reply.toString().startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The bare Node UDP echo server, in a process of its own like the signal. */
async function startEcho(): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', resolve(__dirname, 'udp-echo.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  if (!Number.isInteger(port) || child.pid === undefined)
    throw new Error(`udp echo printed "${line.toString()}"`);
  return {
    port,
    pid: child.pid,
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface HeartbeatResult {
  rate: number;
  lost: number;
  requestPk: number;
  /** CPU the server used over the measured window, in cores. */
  serverCores: number;
}

async function heartbeats(
  workers: LoadWorkers,
  options: BenchOptions,
  port: number,
  serverCpuSeconds: () => Promise<number>,
): Promise<HeartbeatResult> {
  const warmupMs = 2_000;
  const reports = workers.run<HeartbeatReport>(
    Array.from({ length: options.workers }, (_, block) => ({
      kind: 'heartbeat',
      host: '127.0.0.1',
      port,
      peers: options.heartbeatPeers,
      sockets: options.socketsPerWorker,
      window: options.window,
      block,
      warmupMs,
      measureMs: options.seconds * 1000,
    })),
  );
  // CPU is sampled around the measured window only, after the warm-up.
  await sleep(warmupMs);
  const cpuStart = await serverCpuSeconds();
  const done = await reports;
  const cpuEnd = await serverCpuSeconds();
  const seconds = Math.max(...done.map((report) => report.seconds));
  return {
    rate: done.reduce((sum, report) => sum + report.replies / report.seconds, 0),
    lost: done.reduce((sum, report) => sum + report.lost, 0),
    requestPk: done.reduce((sum, report) => sum + report.requestPk, 0),
    serverCores: (cpuEnd - cpuStart) / (seconds + 0.2),
  };
}

interface Registration {
  seconds: number;
  report: RegisterReport;
  /** Longest event-loop stall the signal reported (prom-client's lag, sampled each second). */
  maxLagSeconds: number;
}

/** Registers peers [from, to) from their own loopback addresses, split over the workers. */
async function registerPeers(
  workers: LoadWorkers,
  options: BenchOptions,
  signal: SignalProcess,
  from: number,
  to: number,
): Promise<Registration> {
  const started = performance.now();
  const share = Math.ceil((to - from) / options.workers);
  let maxLagSeconds = 0;
  const lagSampler = setInterval(() => {
    scrapeMetrics(signal.metricsPort).then(
      (samples) =>
        (maxLagSeconds = Math.max(
          maxLagSeconds,
          metricSum(samples, 'switchboard_nodejs_eventloop_lag_max_seconds'),
        )),
      () => undefined,
    );
  }, 1_000);
  const reports = await workers
    .run<RegisterReport>(
      Array.from({ length: options.workers }, (_, worker) => ({
        kind: 'register',
        host: signal.host,
        port: signal.port,
        from: Math.min(to, from + worker * share),
        to: Math.min(to, from + (worker + 1) * share),
        concurrency: 64,
      })),
    )
    .finally(() => clearInterval(lagSampler));
  const report = reports.reduce<RegisterReport>(
    (sum, next) => ({
      kind: 'register',
      ok: sum.ok + next.ok,
      retries: sum.retries + next.retries,
      unanswered: sum.unanswered + next.unanswered,
      refused: mergeCounts(sum.refused, next.refused),
    }),
    { kind: 'register', ok: 0, retries: 0, unanswered: 0, refused: {} },
  );
  // The peer map is what counts: an answer can be lost while the request still registered the peer.
  const registered = metricSum(
    await scrapeMetrics(signal.metricsPort),
    'switchboard_signal_peers_registered',
  );
  if (registered !== to) {
    const denials = signal
      .output()
      .split('\n')
      .filter((line) => line.includes('devices denied'));
    throw new Error(
      `registration incomplete: ${report.ok}/${to - from} OK, ${registered} in the peer map, ` +
        `refused ${JSON.stringify(report.refused)}, ${report.unanswered} unanswered\n${denials.join('\n')}`,
    );
  }
  return { seconds: (performance.now() - started) / 1000, report, maxLagSeconds };
}

function describeRegistration(peers: number, registration: Registration): string {
  const { seconds, report, maxLagSeconds } = registration;
  const unanswered = report.unanswered > 0 ? `, ${report.unanswered} never answered in 15 s` : '';
  return (
    `registered ${peers} peers in ${seconds.toFixed(1)} s (${(peers / seconds).toFixed(0)}/s, ` +
    `${report.retries} resent after their answer was late${unanswered}; ` +
    `event loop stalled up to ${(maxLagSeconds * 1000).toFixed(0)} ms)`
  );
}

/** Waits until the device write-behind has written every registration to Postgres. */
async function writesDrained(signal: SignalProcess): Promise<number> {
  const started = performance.now();
  for (;;) {
    const pending = metricSum(
      await scrapeMetrics(signal.metricsPort),
      'switchboard_signal_device_writes_pending',
    );
    if (pending === 0) return (performance.now() - started) / 1000;
    await sleep(500);
  }
}

async function memoryAfterGc(signal: SignalProcess): Promise<ProcessMemory> {
  await collectGarbage(inspectorUrl(signal.output()), 120_000);
  return readProcessMemory(signal.metricsPort);
}

function procCpuSeconds(pid: number): number {
  // /proc/<pid>/stat: utime and stime are fields 14 and 15, in clock ticks (100 Hz on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function build(): number {
  const started = performance.now();
  execFileSync(
    'npx',
    [
      '--no-install',
      'swc',
      'apps/signal',
      'libs',
      '-d',
      BUILD_DIR,
      '--ignore',
      '**/*.spec.ts,**/*.int-spec.ts,**/*.e2e-spec.ts',
      '--quiet',
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  return (performance.now() - started) / 1000;
}

async function bench(options: BenchOptions, databaseUrl: string, redisUrl: string): Promise<void> {
  const load = () =>
    loadavg()
      .map((value) => value.toFixed(2))
      .join(' ');
  const cpu = cpus();
  console.log(
    `signal bench: ${cpu.length} × ${cpu[0]?.model ?? '?'}, node ${process.version}, ` +
      `${options.workers} load workers × ${options.socketsPerWorker} sockets × window ${options.window}`,
  );
  if (options.build) console.log(`built the signal with swc into ${BUILD_DIR} in ${build().toFixed(1)} s`);
  const signal = await startSignal(
    // info: admission reloads and denials are logged (a few lines), nothing per datagram.
    // The bench registers every peer over UDP at once: lift the global rate of new UDP devices.
    {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REGISTRATION_POLICY: 'open',
      LOG_LEVEL: 'info',
      UDP_NEW_DEVICES_PER_MINUTE: '100000000',
    },
    { compiledMain: COMPILED_MAIN, nodeArgs: ['--inspect=127.0.0.1:0'] },
  );
  const workers = LoadWorkers.start(options.workers);
  let echo: Awaited<ReturnType<typeof startEcho>> | undefined;
  try {
    const empty = await memoryAfterGc(signal);

    const first = await registerPeers(workers, options, signal, 0, options.heartbeatPeers);
    const firstDrain = await writesDrained(signal);
    console.log(
      `${describeRegistration(options.heartbeatPeers, first)}; ` +
        `device rows written ${firstDrain.toFixed(1)} s later; load ${load()}`,
    );
    const atHeartbeatPeers = await memoryAfterGc(signal);

    echo = await startEcho();
    const echoPid = echo.pid;
    const signalCpu = async () =>
      metricSum(await scrapeMetrics(signal.metricsPort), 'switchboard_process_cpu_seconds_total');
    const echoCpu = () => Promise.resolve(procCpuSeconds(echoPid));
    const signalRuns: HeartbeatResult[] = [];
    const echoRuns: HeartbeatResult[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      signalRuns.push(await heartbeats(workers, options, signal.port, signalCpu));
      echoRuns.push(await heartbeats(workers, options, echo.port, echoCpu));
      const [s, e] = [signalRuns.at(-1), echoRuns.at(-1)];
      console.log(
        `round ${round}: signal ${s?.rate.toFixed(0)}/s (${s?.serverCores.toFixed(2)} cores), ` +
          `echo ${e?.rate.toFixed(0)}/s (${e?.serverCores.toFixed(2)} cores); load ${load()}`,
      );
    }
    await echo.stop();
    echo = undefined;

    const second = await registerPeers(workers, options, signal, options.heartbeatPeers, options.memoryPeers);
    const secondDrain = await writesDrained(signal);
    console.log(
      `${describeRegistration(options.memoryPeers - options.heartbeatPeers, second)}; ` +
        `device rows written ${secondDrain.toFixed(1)} s later; load ${load()}`,
    );
    const full = await memoryAfterGc(signal);

    printTable(options, { empty, atHeartbeatPeers, full }, signalRuns, echoRuns);
  } finally {
    await echo?.stop();
    await workers.stop();
    const stopped = await signal.stop();
    if (stopped.code !== 0)
      console.error(`signal exited with ${stopped.code}:\n${signal.output().slice(-4000)}`);
  }
}

function printTable(
  options: BenchOptions,
  memory: { empty: ProcessMemory; atHeartbeatPeers: ProcessMemory; full: ProcessMemory },
  signalRuns: readonly HeartbeatResult[],
  echoRuns: readonly HeartbeatResult[],
): void {
  const mean = (runs: readonly HeartbeatResult[], pick: (run: HeartbeatResult) => number) =>
    runs.reduce((sum, run) => sum + pick(run), 0) / runs.length;
  const signalRate = mean(signalRuns, (run) => run.rate);
  const echoRate = mean(echoRuns, (run) => run.rate);
  const capacity = (runs: readonly HeartbeatResult[]) => mean(runs, (run) => run.rate / run.serverCores);
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const perPeer = (bytes: number, peers: number) => `${(bytes / peers).toFixed(0)} B/peer`;
  const { empty, atHeartbeatPeers, full } = memory;
  const rows: [string, string, string][] = [
    [
      `(a) signal, ${options.heartbeatPeers} peers registered`,
      `${signalRate.toFixed(0)} heartbeats/s`,
      `replies counted; server ${mean(signalRuns, (run) => run.serverCores).toFixed(2)} cores, ` +
        `${mean(signalRuns, (run) => run.lost).toFixed(0)} lost, ${mean(signalRuns, (run) => run.requestPk).toFixed(0)} request_pk`,
    ],
    [
      '(b) bare Node UDP echo server',
      `${echoRate.toFixed(0)} datagrams/s`,
      `server ${mean(echoRuns, (run) => run.serverCores).toFixed(2)} cores, ${mean(echoRuns, (run) => run.lost).toFixed(0)} lost`,
    ],
    ['    ratio (a)/(b)', (signalRate / echoRate).toFixed(2), 'aim ≥ 0.85'],
    [
      '    per core of server CPU: signal / echo',
      `${capacity(signalRuns).toFixed(0)} / ${capacity(echoRuns).toFixed(0)}`,
      `per second, ratio ${(capacity(signalRuns) / capacity(echoRuns)).toFixed(2)} (what each would do on a core of ` +
        'its own, if the load generators could keep up)',
    ],
    [
      `(c) memory at ${options.memoryPeers} peers, heap`,
      perPeer(full.heapUsed - empty.heapUsed, options.memoryPeers),
      `heap used after GC ${mib(empty.heapUsed)} → ${mib(full.heapUsed)}; aim < 1024 B/peer`,
    ],
    [
      `    rss`,
      perPeer(full.rss - empty.rss, options.memoryPeers),
      `rss after GC ${mib(empty.rss)} → ${mib(full.rss)}`,
    ],
    [
      `    heap, peers ${options.heartbeatPeers}…${options.memoryPeers} only`,
      perPeer(full.heapUsed - atHeartbeatPeers.heapUsed, options.memoryPeers - options.heartbeatPeers),
      'marginal cost, without fixed overheads',
    ],
  ];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  console.log('');
  for (const [label, value, note] of rows) {
    console.log(`${label.padEnd(widths[0] ?? 0)}  ${value.padStart(widths[1] ?? 0)}  ${note}`);
  }
  console.log(
    `(${options.rounds} rounds of ${options.seconds} s each for (a) and (b), alternating, after 2 s warm-up; mean shown)`,
  );
}

function mergeCounts(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) {
  const merged: Record<string, number> = { ...a };
  for (const [key, value] of Object.entries(b)) merged[key] = (merged[key] ?? 0) + value;
  return merged;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

async function main(): Promise<void> {
  const options = readOptions(process.env);
  let temporary: TestDatabase | undefined;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>> | undefined;
  try {
    if (options.databaseUrl === undefined) temporary = await createTestDatabase();
    if (options.redisUrl === undefined) redis = await startPrivateRedis();
    await bench(options, options.databaseUrl ?? temporary?.url ?? '', options.redisUrl ?? redis?.url ?? '');
  } finally {
    await redis?.stop();
    await temporary?.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
