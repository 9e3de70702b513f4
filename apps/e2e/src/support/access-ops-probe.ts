// Reads the signal process's ops port the way an orchestrator and Prometheus do: /readyz for
// readiness (with the failing checks named), /metrics for the admission series.

export interface Readiness {
  readonly status: number;
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly error?: string }>>;
}

export async function readiness(metricsPort: number): Promise<Readiness> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/readyz?verbose=1`);
  const body = (await response.json()) as Omit<Readiness, 'status'>;
  return { status: response.status, ready: body.ready, checks: body.checks };
}

/** Sum of the samples of `name` whose labels include every one of `labels`. */
export async function metricValue(
  metricsPort: number,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const present = match[2] ?? '';
    if (Object.entries(labels).every(([label, value]) => present.includes(`${label}="${value}"`))) {
      sum += Number(match[3]);
    }
  }
  return sum;
}

/** Polls until `condition` holds; the error names what was awaited and the last value seen. */
export async function waitUntil<T>(
  read: () => Promise<T>,
  condition: (value: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (condition(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached in ${timeoutMs} ms; last seen ${JSON.stringify(value)}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}
