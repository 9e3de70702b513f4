import { type ChildProcess } from 'node:child_process';

/**
 * Stops a service process as an orchestrator does: SIGTERM, then SIGKILL if it has not exited within
 * `timeoutMs`. Resolves with how it exited (a clean drain exits 0).
 */
export async function stopChild<T>(child: ChildProcess, exited: Promise<T>, timeoutMs: number): Promise<T> {
  if (child.exitCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}
