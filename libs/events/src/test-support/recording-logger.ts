import { type EventBusLogger } from '../event-bus';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

/** Keeps every log line so tests can assert that a dropped message was reported. */
export class RecordingLogger implements EventBusLogger {
  readonly entries: LogEntry[] = [];

  info(obj: object, msg: string): void {
    this.entries.push({ level: 'info', obj, msg });
  }

  warn(obj: object, msg: string): void {
    this.entries.push({ level: 'warn', obj, msg });
  }

  error(obj: object, msg: string): void {
    this.entries.push({ level: 'error', obj, msg });
  }

  messages(level: LogEntry['level']): string[] {
    return this.entries.filter((entry) => entry.level === level).map((entry) => entry.msg);
  }
}
