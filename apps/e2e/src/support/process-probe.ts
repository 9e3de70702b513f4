import { WebSocket } from 'ws';

// Looks into a running service process from outside: its Prometheus series (the ops server's
// /metrics) and, when it was started with --inspect, a full garbage collection through the V8
// inspector, so memory read right after is live data rather than garbage not yet collected.

export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ProcessMemory {
  /** switchboard_process_resident_memory_bytes */
  readonly rss: number;
  /** switchboard_nodejs_heap_size_used_bytes */
  readonly heapUsed: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export async function scrapeMetrics(metricsPort: number, host = '127.0.0.1'): Promise<MetricSample[]> {
  const response = await fetch(`http://${host}:${metricsPort}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parsePrometheusText(await response.text());
}

export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) continue;
    const [, name = '', labelText = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, key = '', labelValue = ''] of labelText.matchAll(LABEL)) labels[key] = labelValue;
    samples.push({ name, labels, value: Number(value) });
  }
  return samples;
}

/** The sum of every series of `name` whose labels include `labels`. */
export function metricSum(
  samples: readonly MetricSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let sum = 0;
  for (const sample of samples) {
    if (sample.name !== name) continue;
    if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) sum += sample.value;
  }
  return sum;
}

export async function readProcessMemory(metricsPort: number): Promise<ProcessMemory> {
  const samples = await scrapeMetrics(metricsPort);
  return {
    rss: metricSum(samples, 'switchboard_process_resident_memory_bytes'),
    heapUsed: metricSum(samples, 'switchboard_nodejs_heap_size_used_bytes'),
  };
}

/** The inspector's WebSocket URL, from the "Debugger listening on ws://…" line node prints. */
export function inspectorUrl(processOutput: string): string {
  const match = /Debugger listening on (ws:\/\/\S+)/.exec(processOutput);
  if (!match?.[1])
    throw new Error('the process was not started with --inspect (no "Debugger listening" line)');
  return match[1];
}

/**
 * A full, synchronous GC in the inspected process (HeapProfiler.collectGarbage, what --expose-gc's
 * gc() does), twice so that objects freed by finalizers of the first pass go too.
 */
export async function collectGarbage(url: string, timeoutMs = 30_000): Promise<void> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const pending = new Map<number, () => void>();
  let nextId = 1;
  const failed = new Promise<never>((_, reject) => {
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('inspector closed the connection')));
    setTimeout(() => reject(new Error(`inspector GC took over ${timeoutMs} ms`)), timeoutMs).unref();
  });
  failed.catch(() => undefined);
  socket.on('message', (data: Buffer) => {
    const reply = JSON.parse(data.toString()) as { id?: number };
    if (reply.id !== undefined) pending.get(reply.id)?.();
  });
  const call = (method: string) =>
    Promise.race([
      new Promise<void>((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        socket.send(JSON.stringify({ id, method }));
      }),
      failed,
    ]);
  try {
    await Promise.race([new Promise<void>((resolve) => socket.once('open', () => resolve())), failed]);
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
  } finally {
    socket.removeAllListeners('close');
    socket.close();
  }
}

/** GC, then the process's memory as its own /metrics reports it. */
export async function memoryAfterGc(metricsPort: number, processOutput: string): Promise<ProcessMemory> {
  await collectGarbage(inspectorUrl(processOutput));
  return readProcessMemory(metricsPort);
}
