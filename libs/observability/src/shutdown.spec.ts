import { EventEmitter } from 'node:events';

import { createLogger } from './logger';
import { exitOnShutdownSignal, type SignalSource } from './shutdown';

const logger = createLogger({ name: 'shutdown-test', level: 'silent' });

class FakeProcess extends EventEmitter implements SignalSource {
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('exitOnShutdownSignal', () => {
  it('runs shutdown once on SIGTERM and exits 0 when it completes', async () => {
    const fake = new FakeProcess();
    const calls: string[] = [];
    let finish = () => undefined as void;
    exitOnShutdownSignal({
      logger,
      process: fake,
      deadlineMs: 5_000,
      shutdown: (signal) => {
        calls.push(signal);
        return new Promise<void>((resolve) => (finish = resolve));
      },
    });
    fake.emit('SIGTERM', 'SIGTERM');
    await tick();
    expect(calls).toEqual(['SIGTERM']);
    expect(fake.exits).toEqual([]);
    finish();
    await tick();
    expect(fake.exits).toEqual([0]);
  });

  it('exits 1 when shutdown fails', async () => {
    const fake = new FakeProcess();
    exitOnShutdownSignal({
      logger,
      process: fake,
      deadlineMs: 5_000,
      shutdown: () => Promise.reject(new Error('x')),
    });
    fake.emit('SIGINT', 'SIGINT');
    await tick();
    expect(fake.exits).toEqual([1]);
  });

  it('exits 1 when shutdown outlives the deadline', async () => {
    const fake = new FakeProcess();
    exitOnShutdownSignal({
      logger,
      process: fake,
      deadlineMs: 30,
      shutdown: () => new Promise(() => undefined),
    });
    fake.emit('SIGTERM', 'SIGTERM');
    await tick(10);
    expect(fake.exits).toEqual([]);
    await tick(60);
    expect(fake.exits).toEqual([1]);
  });

  it('exits 1 at once on a second signal', async () => {
    const fake = new FakeProcess();
    exitOnShutdownSignal({
      logger,
      process: fake,
      deadlineMs: 5_000,
      shutdown: () => new Promise(() => undefined),
    });
    fake.emit('SIGTERM', 'SIGTERM');
    fake.emit('SIGINT', 'SIGINT');
    await tick();
    expect(fake.exits).toEqual([1]);
  });
});
