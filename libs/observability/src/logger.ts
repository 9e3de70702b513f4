import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout, one logger per service; children add connection context.
 * Writes are synchronous: pino's default async stream reorders or loses the last lines when a
 * service calls process.exit during shutdown. `destination` lets a CLI subcommand log to stderr so
 * its stdout stays machine-readable.
 */
export function createLogger(options: {
  name: string;
  level: LevelWithSilent;
  destination?: DestinationStream;
  /** pino redact paths this service adds to the common ones (its own secrets' field names). */
  redact?: readonly string[];
}): Logger {
  const settings = {
    name: options.name,
    level: options.level,
    base: { service: options.name, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'req.headers.cookie',
        ...(options.redact ?? []),
      ],
      censor: '[redacted]',
    },
  };
  return pino(settings, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
