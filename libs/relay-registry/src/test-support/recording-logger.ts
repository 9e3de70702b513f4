import { type RegistryLogger } from '../registry-logger';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

/** Keeps every log line so tests can assert that a skipped record or failed write was reported. */
export class RecordingLogger implements RegistryLogger {
  readonly entries: LogEntry[] = [];

  info(obj: object, msg: string): void {
    this.entries.push({ level: 'info', obj: { ...obj }, msg });
  }

  warn(obj: object, msg: string): void {
    this.entries.push({ level: 'warn', obj: { ...obj }, msg });
  }

  error(obj: object, msg: string): void {
    this.entries.push({ level: 'error', obj: { ...obj }, msg });
  }

  withMessage(msg: string): LogEntry[] {
    return this.entries.filter((entry) => entry.msg === msg);
  }
}
