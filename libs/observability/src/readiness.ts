export interface ReadinessCheckResult {
  readonly ok: boolean;
  /** Why the check failed; absent when it passed. */
  readonly error?: string;
  readonly durationMs: number;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, ReadinessCheckResult>>;
}

/** Resolves when the dependency is usable; rejects (with a reason) when it is not. */
export type ReadinessCheck = () => Promise<unknown>;

export const DEFAULT_READINESS_CHECK_TIMEOUT_MS = 1_000;

/**
 * Runs every check at once, each bounded by `timeoutMs`, so one hung dependency reports as a failure
 * instead of hanging the probe; ready only when all pass.
 */
export async function checkReadiness(
  checks: Readonly<Record<string, ReadinessCheck>>,
  options: { timeoutMs?: number; now?: () => number } = {},
): Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_READINESS_CHECK_TIMEOUT_MS;
  const now = options.now ?? (() => performance.now());
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, ReadinessCheckResult]> => {
      const started = now();
      try {
        await withTimeout(check, timeoutMs);
        return [name, { ok: true, durationMs: Math.round(now() - started) }];
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return [name, { ok: false, error: message, durationMs: Math.round(now() - started) }];
      }
    }),
  );
  return { ready: entries.every(([, result]) => result.ok), checks: Object.fromEntries(entries) };
}

export async function withTimeout<T>(run: () => Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
