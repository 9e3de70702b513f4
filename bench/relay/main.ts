// Relay benchmark, in one run on loopback (bench/README.md "relay"):
//   (1) one session's throughput through the real relay process, against socat forwarding the same
//       bytes and against a direct TCP transfer with no hop at all (the ceiling);
//   (2) thousands of concurrent paired sessions at RustDesk's average relay rate through one relay
//       process: message latency (against the same load sent directly, so the hop's share shows),
//       and the relay's CPU and memory.
//   node -r @swc-node/register bench/relay/main.ts
// Knobs are environment variables, read only here.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, setPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { encodePublicKeyFile, generateIdentityKeyPair } from '@switchboard/crypto';

import {
  buildRelay,
  cpuSeconds,
  type Forwarder,
  hostCpuTimes,
  residentMemory,
  startBareForwarder,
  startRelay,
} from './forwarders';
import { measurePairing, type PairingResult } from './pairing';
import { LatencyHistogram } from './latency-histogram';
import { type WorkerCommand, type WorkerReport } from './session-worker';
import { measureTransfer, type TransferPath } from './throughput';

const ROOT = resolve(__dirname, '../..');
const MIB = 1024 * 1024;

const BENCH_PARTS = ['throughput', 'sessions', 'pairing'] as const;
type BenchPart = (typeof BENCH_PARTS)[number];

interface BenchOptions {
  redisUrl: string;
  transferMiB: number;
  rounds: number;
  sessionRounds: number;
  sessions: number;
  workers: number;
  kbitPerSecond: number;
  messagesPerSecond: number;
  warmupSeconds: number;
  measureSeconds: number;
  build: boolean;
  pairs: number;
  pairingWindow: number;
  /** Which parts to run (all by default). */
  parts: ReadonlySet<BenchPart>;
  relayNodeArgs: string[];
  workerNodeArgs: string[];
  workerNice: number;
}

function readOptions(env: NodeJS.ProcessEnv): BenchOptions {
  const positive = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
    return value;
  };
  return {
    redisUrl: env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    transferMiB: positive('BENCH_TRANSFER_MIB', 1024),
    rounds: positive('BENCH_ROUNDS', 3),
    sessionRounds: positive('BENCH_SESSION_ROUNDS', 3),
    sessions: positive('BENCH_SESSIONS', 2000),
    workers: positive('BENCH_WORKERS', 2),
    kbitPerSecond: positive('BENCH_SESSION_KBIT', 180),
    messagesPerSecond: positive('BENCH_MESSAGES_PER_SECOND', 10),
    warmupSeconds: positive('BENCH_WARMUP_SECONDS', 5),
    measureSeconds: positive('BENCH_SECONDS', 20),
    build: env['BENCH_BUILD'] !== '0',
    pairs: positive('BENCH_PAIRS', 4000),
    pairingWindow: positive('BENCH_PAIRING_WINDOW', 64),
    parts: readParts(env['BENCH_PARTS']),
    relayNodeArgs: nodeArgs(env['BENCH_RELAY_NODE_ARGS']),
    workerNodeArgs: nodeArgs(env['BENCH_WORKER_NODE_ARGS']),
    workerNice: Number(env['BENCH_WORKER_NICE'] ?? 0),
  };
}

/** Extra node flags for a child, e.g. "--trace-gc" or "--cpu-prof --cpu-prof-dir=/tmp/prof". */
function nodeArgs(value: string | undefined): string[] {
  return (value ?? '').split(' ').filter((arg) => arg !== '');
}

function readParts(value: string | undefined): ReadonlySet<BenchPart> {
  const parts = (value ?? BENCH_PARTS.join(',')).split(',').map((part) => part.trim());
  const known = (part: string): part is BenchPart => (BENCH_PARTS as readonly string[]).includes(part);
  const unknown = parts.filter((part) => !known(part));
  if (unknown.length > 0) {
    throw new Error(`BENCH_PARTS: unknown part "${unknown.join(', ')}" (${BENCH_PARTS.join(', ')})`);
  }
  return new Set(parts.filter(known));
}

/** Load-generator processes (TypeScript through swc), one IPC request at a time each. */
class SessionWorkers {
  private constructor(private readonly children: ChildProcess[]) {}

  static start(count: number, nodeArgs: readonly string[], nice: number): SessionWorkers {
    return new SessionWorkers(
      Array.from({ length: count }, () => {
        const child = fork(resolve(__dirname, 'session-worker.ts'), [], {
          cwd: ROOT,
          execArgv: ['-r', '@swc-node/register', ...nodeArgs],
        });
        if (nice !== 0 && child.pid !== undefined) setPriority(child.pid, nice);
        return child;
      }),
    );
  }

  run(commands: readonly WorkerCommand[]): Promise<WorkerReport[]> {
    return Promise.all(
      commands.map(async (command, index) => {
        const child = this.children[index];
        if (!child) throw new Error(`no worker ${index}`);
        const reply = Promise.race([
          once(child, 'message') as Promise<[WorkerReport]>,
          once(child, 'exit').then(([code]) => {
            throw new Error(`session worker ${index} exited with ${String(code)}`);
          }),
        ]);
        child.send(command);
        return (await reply)[0];
      }),
    );
  }

  all(command: WorkerCommand): Promise<WorkerReport[]> {
    return this.run(this.children.map(() => command));
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

interface SessionResult {
  sent: number;
  received: number;
  latency: LatencyHistogram;
  connectMs: number;
  cpuPercent?: number;
  /** % of the host's CPU time over the measuring window that the hypervisor gave to other guests. */
  stealPercent: number;
  rss?: { before: number; during: number; peak: number };
}

interface ThroughputResult {
  /** MiB/s per round, by path. */
  rates: Map<TransferPath, number[]>;
  /** CPU seconds of the hop per GiB forwarded, per round (socat's forked child, the relay process). */
  hopCpuPerGiB: Map<TransferPath, number[]>;
}

async function throughput(options: BenchOptions, relay: Forwarder): Promise<ThroughputResult> {
  const bytes = options.transferMiB * MIB;
  const paths: TransferPath[] = ['direct', 'socat', 'relay'];
  const rates = new Map<TransferPath, number[]>(paths.map((path) => [path, []]));
  const hopCpuPerGiB = new Map<TransferPath, number[]>(paths.map((path) => [path, []]));
  for (let round = 1; round <= options.rounds; round++) {
    // Interleaved, so a burst of load from elsewhere on the host hits every path alike.
    for (const path of paths) {
      const { seconds, hopCpuSeconds } = await measureTransfer(path, bytes, relay);
      const rate = bytes / MIB / seconds;
      rates.get(path)?.push(rate);
      const perGiB = hopCpuSeconds === undefined ? undefined : hopCpuSeconds / (bytes / (1024 * MIB));
      if (perGiB !== undefined) hopCpuPerGiB.get(path)?.push(perGiB);
      const cpu = perGiB === undefined ? '' : `, hop CPU ${perGiB.toFixed(2)} s/GiB`;
      console.log(`  round ${round} ${path.padEnd(6)} ${rate.toFixed(0).padStart(6)} MiB/s${cpu}`);
    }
  }
  return { rates, hopCpuPerGiB };
}

async function sessions(
  options: BenchOptions,
  path: 'relay' | 'direct',
  relay: Forwarder | undefined,
): Promise<SessionResult> {
  const workers = SessionWorkers.start(options.workers, options.workerNodeArgs, options.workerNice);
  try {
    const share = Math.ceil(options.sessions / options.workers);
    const messageBytes = Math.round((options.kbitPerSecond * 1000) / 8 / options.messagesPerSecond);
    const connected = await workers.run(
      Array.from({ length: options.workers }, (_, index) => ({
        kind: 'connect' as const,
        path,
        relayPort: relay?.port ?? 0,
        sessions: Math.min(share, options.sessions - index * share),
        uuidPrefix: `bench-${process.pid}-${index}`,
        messageBytes,
      })),
    );
    const connectMs = Math.max(...connected.map((report) => (report.kind === 'connected' ? report.ms : 0)));
    const before = relay ? residentMemory(relay.pid).rss : 0;
    const ran = workers.all({
      kind: 'run',
      messagesPerSecond: options.messagesPerSecond,
      warmupMs: options.warmupSeconds * 1000,
      measureMs: options.measureSeconds * 1000,
    });
    // The relay's CPU over the measuring window (the workers start it warmupSeconds after this).
    await new Promise((done) => setTimeout(done, options.warmupSeconds * 1000));
    const cpuStart = relay ? cpuSeconds(relay.pid) : 0;
    const hostStart = hostCpuTimes();
    const wallStart = performance.now();
    await new Promise((done) => setTimeout(done, options.measureSeconds * 1000));
    const hostEnd = hostCpuTimes();
    const stealPercent = ((hostEnd.steal - hostStart.steal) / (hostEnd.total - hostStart.total)) * 100;
    const cpuPercent = relay
      ? ((cpuSeconds(relay.pid) - cpuStart) / ((performance.now() - wallStart) / 1000)) * 100
      : undefined;
    const during = relay ? residentMemory(relay.pid) : undefined;
    const reports = await ran;
    const latency = new LatencyHistogram();
    let sent = 0;
    let received = 0;
    for (const report of reports) {
      if (report.kind !== 'ran') throw new Error(`unexpected report ${report.kind}`);
      sent += report.sent;
      received += report.received;
      latency.merge(report.histogram);
    }
    await workers.all({ kind: 'close' });
    return {
      sent,
      received,
      latency,
      connectMs,
      cpuPercent,
      stealPercent,
      rss: during ? { before, during: during.rss, peak: during.peak } : undefined,
    };
  } finally {
    await workers.stop();
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
const ms = (value: number): string => `${value.toFixed(2)} ms`;
const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const options = readOptions(process.env);
  const cpu = cpus();
  console.log(
    `relay bench: ${cpu.length} × ${cpu[0]?.model ?? '?'}, node ${process.version}, load average ${load()}`,
  );
  if (options.build) console.log(`built the relay with swc in ${buildRelay().toFixed(1)} s`);
  const relayOptions = {
    redisUrl: options.redisUrl,
    maxConnectionsPerIp: Math.max(options.sessions, options.pairs) * 2 + 100,
    nodeArgs: options.relayNodeArgs,
  };
  const row = (name: string, value: string) => console.log(`${name.padEnd(34)} ${value}`);
  const report: Array<() => void> = [];

  if (options.parts.has('throughput')) {
    console.log(`\n(1) one session, ${options.transferMiB} MiB one way, ${options.rounds} rounds`);
    const relay = await startRelay({ ...relayOptions, redisKeyPrefix: `bench-relay-${process.pid}-1` });
    let result: ThroughputResult;
    try {
      result = await throughput(options, relay);
    } finally {
      await relay.stop();
    }
    report.push(() => reportThroughput(result, row));
  }

  if (options.parts.has('sessions')) {
    const perSession = `${options.kbitPerSecond} kbit/s as ${options.messagesPerSecond} messages/s`;
    console.log(
      `\n(2) ${options.sessions} sessions × ${perSession}, ${options.workers} load workers, ` +
        `${options.sessionRounds} rounds`,
    );
    const rounds: SessionRound[] = [];
    // Interleaved like (1): a burst of load from elsewhere, or one rare stall, hits one round, not the verdict.
    for (let round = 1; round <= options.sessionRounds; round++) {
      console.log(`  round ${round} direct (no relay), load average ${load()}`);
      const direct = await sessions(options, 'direct', undefined);
      console.log(`  round ${round} through the bare Node forwarder, load average ${load()}`);
      const bareForwarder = await startBareForwarder();
      let bare: SessionResult;
      try {
        bare = await sessions(options, 'relay', bareForwarder);
      } finally {
        await bareForwarder.stop();
      }
      const sessionRelay = await startRelay({
        ...relayOptions,
        redisKeyPrefix: `bench-relay-${process.pid}-2-${round}`,
      });
      try {
        console.log(`  round ${round} through the relay, load average ${load()}`);
        const relayed = await sessions(options, 'relay', sessionRelay);
        rounds.push({ direct, bare, relayed });
        console.log(
          // Against this round's own direct run, as progress; the results use the undisturbed baseline.
          `  round ${round} added (vs this round's direct run) by the relay ${describeAdded(direct, relayed)}, ` +
            `by the bare forwarder ${describeAdded(direct, bare)} ` +
            `(CPU stolen by the hypervisor: ${[direct, bare, relayed].map(stolen).join(', ')})`,
        );
      } finally {
        await sessionRelay.stop();
      }
    }
    report.push(() => reportSessions(rounds, row));
  }

  if (options.parts.has('pairing')) {
    console.log(
      `\n(3) pairing ${options.pairs} ticketed sessions (strict mode), ${options.pairingWindow} at a time`,
    );
    const redisKeyPrefix = `bench-relay-${process.pid}-3`;
    const signalKey = generateIdentityKeyPair();
    const signalKeyDir = await mkdtemp(join(tmpdir(), 'bench-relay-keys-'));
    await writeFile(join(signalKeyDir, 'id_ed25519.pub'), encodePublicKeyFile(signalKey.publicKey));
    const pairingRelay = await startRelay({ ...relayOptions, redisKeyPrefix, strict: true, signalKeyDir });
    try {
      const cpuBefore = cpuSeconds(pairingRelay.pid);
      const pairing = await measurePairing({
        redisUrl: options.redisUrl,
        redisKeyPrefix,
        relayPort: pairingRelay.port,
        signingKey: signalKey.secretKey,
        pairs: options.pairs,
        window: options.pairingWindow,
      });
      const cpu = cpuSeconds(pairingRelay.pid) - cpuBefore;
      report.push(() => reportPairing(pairing, cpu, row));
    } finally {
      await pairingRelay.stop();
      await rm(signalKeyDir, { recursive: true, force: true });
    }
  }

  console.log('\nresults (median of rounds; each round in brackets)');
  for (const part of report) part();
  row('load average at the end', load());
}

type Row = (name: string, value: string) => void;

function reportPairing(result: PairingResult, relayCpuSeconds: number, row: Row): void {
  const sorted = [...result.latencies].sort((a, b) => a - b);
  const quantile = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  row(
    '(3) pairs per second',
    `${(result.pairs / result.seconds).toFixed(0)} (${result.pairs} in ${result.seconds.toFixed(2)} s)`,
  );
  row('(3) dial to first byte p50 / p99', `${ms(quantile(0.5))} / ${ms(quantile(0.99))}`);
  row('(3) relay CPU per 1000 pairs', `${((relayCpuSeconds / result.pairs) * 1000).toFixed(2)} s`);
}

function reportThroughput({ rates, hopCpuPerGiB }: ThroughputResult, row: Row): void {
  const relayRate = median(rates.get('relay') ?? []);
  const socatRate = median(rates.get('socat') ?? []);
  const directRate = median(rates.get('direct') ?? []);
  const rate = (path: TransferPath) =>
    `${median(rates.get(path) ?? []).toFixed(0)} MiB/s (${(rates.get(path) ?? []).map((r) => r.toFixed(0)).join(', ')})`;
  row('(1) direct TCP, no relay', rate('direct'));
  row('(1) socat -b 65536', rate('socat'));
  row('(1) relay', rate('relay'));
  row('(1) relay / socat', `${(relayRate / socatRate).toFixed(2)}x   (aim ≥ 1.1)`);
  row('(1) relay / direct', `${(relayRate / directRate).toFixed(2)}x`);
  const cpu = (path: TransferPath) => median(hopCpuPerGiB.get(path) ?? []);
  row(
    '(1) hop CPU per GiB socat / relay',
    `${cpu('socat').toFixed(2)} s / ${cpu('relay').toFixed(2)} s   (relay / socat ${(cpu('relay') / cpu('socat')).toFixed(2)}x)`,
  );
}

interface SessionRound {
  direct: SessionResult;
  /** The same load through bare-forwarder.ts: what any Node process pays for this socket work here. */
  bare: SessionResult;
  relayed: SessionResult;
}

const addedMs = (direct: SessionResult, through: SessionResult, q: number): number =>
  through.latency.quantile(q) - direct.latency.quantile(q);

const stolen = (result: SessionResult): string => `${result.stealPercent.toFixed(1)} %`;

const describeAdded = (direct: SessionResult, through: SessionResult): string =>
  `p50 ${ms(addedMs(direct, through, 0.5))}, p99 ${ms(addedMs(direct, through, 0.99))}`;

/**
 * A window in which the hypervisor took at most this share of the host's CPU. On a shared VM a few
 * per cent stolen turns into tens of ms of tail for whichever path was running (bench/README.md).
 */
const UNDISTURBED_STEAL_PERCENT = 1;

function reportSessions(rounds: SessionRound[], row: Row): void {
  const each = (value: (round: SessionRound) => number, digits = 2) =>
    `${median(rounds.map(value)).toFixed(digits)} (${rounds.map((round) => value(round).toFixed(digits)).join(', ')})`;
  const names = { direct: 'direct', bare: 'bare forwarder', relayed: 'relay' } as const;
  for (const path of ['direct', 'bare', 'relayed'] as const) {
    const name = names[path];
    row(
      `(2) ${name} latency p50 ms`,
      each((round) => round[path].latency.quantile(0.5)),
    );
    row(
      `(2) ${name} latency p99 ms`,
      each((round) => round[path].latency.quantile(0.99)),
    );
    row(
      `(2) ${name} latency max ms`,
      each((round) => round[path].latency.max, 1),
    );
    const sent = rounds.reduce((sum, round) => sum + round[path].sent, 0);
    const received = rounds.reduce((sum, round) => sum + round[path].received, 0);
    row(
      `(2) ${name} host CPU stolen %`,
      each((round) => round[path].stealPercent, 1),
    );
    row(
      `(2) ${name} messages`,
      `${received} of ${sent} arrived (${sent - received} not within 1 s of the window)`,
    );
  }
  // Against the median undisturbed direct round (any direct round if none was), not each round's own:
  // a disturbed direct round would make the hop look cheaper than it is.
  const quietDirect = rounds.filter((round) => round.direct.stealPercent <= UNDISTURBED_STEAL_PERCENT);
  const baseline = quietDirect.length > 0 ? quietDirect : rounds;
  const directMs = (q: number) => median(baseline.map((round) => round.direct.latency.quantile(q)));
  row(
    '(2) direct p50 / p99 ms, the baseline',
    `${directMs(0.5).toFixed(2)} / ${directMs(0.99).toFixed(2)} (${baseline.length} of ${rounds.length} rounds ≤ ${UNDISTURBED_STEAL_PERCENT} % stolen)`,
  );
  for (const path of ['bare', 'relayed'] as const) {
    const added = (q: number) => (round: SessionRound) => round[path].latency.quantile(q) - directMs(q);
    const aim = path === 'relayed' ? '   (aim < 2 ms)' : '';
    row(`(2) added by the ${names[path]} p50 ms`, each(added(0.5)));
    row(`(2) added by the ${names[path]} p99 ms`, `${each(added(0.99))}${aim}`);
    const undisturbed = rounds.filter((round) => round[path].stealPercent <= UNDISTURBED_STEAL_PERCENT);
    row(
      `(2)   same, rounds ≤ ${UNDISTURBED_STEAL_PERCENT} % stolen`,
      undisturbed.length === 0
        ? 'none'
        : `${median(undisturbed.map(added(0.99))).toFixed(2)} (${undisturbed.length} of ${rounds.length} rounds)`,
    );
    row(
      `(2) ${names[path]} CPU, % of one core`,
      each((round) => round[path].cpuPercent ?? NaN, 0),
    );
  }
  const rss = (pick: (rss: NonNullable<SessionResult['rss']>) => number) => (round: SessionRound) =>
    round.relayed.rss ? pick(round.relayed.rss) / MIB : NaN;
  row(
    '(2) relay RSS open+idle MiB',
    each(
      rss((value) => value.before),
      0,
    ),
  );
  row(
    '(2) relay RSS loaded / peak MiB',
    `${each(
      rss((value) => value.during),
      0,
    )} / ${each(
      rss((value) => value.peak),
      0,
    )}   (aim < 1 GiB)`,
  );
  row(
    '(2) sessions connected and paired in s',
    each((round) => round.relayed.connectMs / 1000, 1),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
