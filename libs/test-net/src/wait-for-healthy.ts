/** A service process a test started: how it ended, and what it printed so far. */
export interface StartedService {
  readonly exited: Promise<unknown>;
  stdout(): string;
  stderr(): string;
}

/** Resolves once the service's /healthz on `metricsPort` answers 200; rejects if it exits first or takes too long. */
export async function waitForHealthy(
  service: StartedService,
  metricsPort: number,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void service.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`exited before healthy:\n${service.stderr()}\n${service.stdout()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status === 200) return;
    } catch {
      // Not listening yet: poll again.
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`not healthy after ${timeoutMs} ms:\n${service.stderr()}`);
}
