import { createLogger, type Logger } from '@switchboard/observability';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

const WARN = 40;

/** A real pino logger whose lines are kept, so a test can assert what was logged and how often. */
export function createCapturedLogger(): { logger: Logger; lines: LogLine[]; warnings: () => string[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({
    name: 'signal-test',
    level: 'debug',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  });
  return {
    logger,
    lines,
    warnings: () => lines.filter((line) => line.level >= WARN).map((line) => line.msg),
  };
}
