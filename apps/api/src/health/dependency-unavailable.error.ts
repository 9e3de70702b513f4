/**
 * Thrown by a readiness check with a short reason that is safe to show on the unauthenticated /readyz
 * (no hosts, ports or credentials); the original error rides along as `cause` for the log.
 */
export class DependencyUnavailableError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'DependencyUnavailableError';
  }
}
