import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { isColorSupported, prettyFactory } from 'pino-pretty';

export type { Logger };

/**
 * `json`: one JSON object a line, for log collectors. `pretty`: one readable, coloured line per entry
 * (pino-pretty), for a person at a terminal. `auto`: pretty exactly when the logs go to a terminal.
 */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Whether logs in `format` come out pretty when they are written to a terminal or not (`toTerminal`). */
export function isPrettyLogFormat(format: LogFormat, toTerminal: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && toTerminal);
}

/**
 * Structured logs on stdout, one logger per service; children add connection context.
 * Writes are synchronous: pino's default async stream reorders or loses the last lines when a
 * service calls process.exit during shutdown. `destination` lets a CLI subcommand log to stderr so
 * its stdout stays machine-readable. Redaction happens before formatting, so it holds in every format.
 */
export function createLogger(options: {
  name: string;
  level: LevelWithSilent;
  destination?: DestinationStream;
  /** Default `json`; services pass their LOG_FORMAT setting. */
  format?: LogFormat;
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
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  const toTerminal =
    options.destination === undefined ? process.stdout.isTTY === true : isTerminal(destination);
  if (!isPrettyLogFormat(options.format ?? 'json', toTerminal)) return pino(settings, destination);
  // Formatted in the same synchronous write: pino-pretty's own stream (a Transform, or a transport's
  // worker thread) would be asynchronous again.
  const prettify = prettyFactory({
    colorize: toTerminal || isColorSupported,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'service,pid',
  });
  return pino(settings, { write: (line: string) => destination.write(prettify(line)) });
}

function isTerminal(stream: DestinationStream): boolean {
  return (stream as { isTTY?: unknown }).isTTY === true;
}
