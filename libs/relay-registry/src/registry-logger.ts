/** pino-compatible; any pino logger fits. */
export interface RegistryLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Logs a recurring failure once per interval with the count of repeats it swallowed, so a Redis outage
 * while signal brokers thousands of relays is a few log lines, not thousands.
 */
export class ThrottledWarning {
  private lastLoggedAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly logger: RegistryLogger,
    private readonly message: string,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  warn(obj: object): void {
    const now = this.now();
    if (now - this.lastLoggedAt < this.intervalMs) {
      this.suppressed += 1;
      return;
    }
    this.logger.warn({ ...obj, suppressed: this.suppressed }, this.message);
    this.lastLoggedAt = now;
    this.suppressed = 0;
  }

  /** The failure stopped; the next one is logged at once. */
  reset(): void {
    this.lastLoggedAt = Number.NEGATIVE_INFINITY;
    this.suppressed = 0;
  }
}
