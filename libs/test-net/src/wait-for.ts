/** How long waitFor waits unless told: generous, since the test machines are shared and slow. */
const DEFAULT_TIMEOUT_MS = 10_000;
const POLL_MS = 10;

/**
 * Resolves once `condition` holds, polling every 10 ms; rejects after `timeoutMs` naming `what`.
 * For conditions a test cannot await directly (another process, a socket, a timer in the code under test).
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs?: number,
): Promise<void>;
/** The same, for a condition that needs no name. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs?: number): Promise<void>;
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  whatOrTimeoutMs?: string | number,
  timeoutMs?: number,
): Promise<void> {
  const what = typeof whatOrTimeoutMs === 'string' ? whatOrTimeoutMs : 'a condition';
  const limit = (typeof whatOrTimeoutMs === 'number' ? whatOrTimeoutMs : timeoutMs) ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + limit;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Reads until `done` holds of the value or the timeout passes, and returns the last value read: the
 * test's own assertion on it then shows what was there instead of a bare timeout.
 */
export async function readUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
