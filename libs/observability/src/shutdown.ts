import { type Logger } from './logger';

/** The slice of `process` the handler needs, so tests can drive it with a plain emitter. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

export interface ShutdownOptions {
  logger: Logger;
  /** Stops the service: stop accepting, close or drain connections, close clients. */
  shutdown: (signal: NodeJS.Signals) => Promise<void>;
  /** Hard limit on `shutdown`; past it the process exits 1 so a hung close never blocks a deploy. */
  deadlineMs: number;
  signals?: readonly NodeJS.Signals[];
  process?: SignalSource;
}

/**
 * Exits 0 once `shutdown` completes after SIGTERM or SIGINT. A second signal, a failing shutdown or
 * the deadline exit 1 at once.
 */
export function exitOnShutdownSignal(options: ShutdownOptions): void {
  const target = options.process ?? process;
  const { logger } = options;
  let stopping = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown, exiting now');
      target.exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal, deadlineMs: options.deadlineMs }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs: options.deadlineMs }, 'shutdown exceeded its deadline, exiting');
      target.exit(1);
    }, options.deadlineMs);
    // Unref'd: if shutdown leaves nothing running, the process may end on its own before the timer.
    deadline.unref();
    options.shutdown(signal).then(
      () => {
        clearTimeout(deadline);
        logger.info('shutdown complete');
        target.exit(0);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        logger.error({ err: error }, 'shutdown failed');
        target.exit(1);
      },
    );
  };

  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) target.on(signal, onSignal);
}
