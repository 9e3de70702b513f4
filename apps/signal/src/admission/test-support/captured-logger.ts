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

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
