import { ThrottledWarning } from './registry-logger';
import { RecordingLogger } from './test-support/recording-logger';

describe('ThrottledWarning', () => {
  it('logs the first failure, then one line per interval with how many it held back', () => {
    const logger = new RecordingLogger();
    let now = 0;
    const warning = new ThrottledWarning(logger, 'write failed', 1_000, () => now);

    warning.warn({ attempt: 1 });
    now = 500;
    warning.warn({ attempt: 2 });
    warning.warn({ attempt: 3 });
    now = 1_000;
    warning.warn({ attempt: 4 });

    expect(logger.entries.map((entry) => entry.obj)).toEqual([
      { attempt: 1, suppressed: 0 },
      { attempt: 4, suppressed: 2 },
    ]);
  });

  it('logs at once again after a reset', () => {
    const logger = new RecordingLogger();
    const warning = new ThrottledWarning(logger, 'write failed', 1_000, () => 0);
    warning.warn({});
    warning.reset();
    warning.warn({});
    expect(logger.withMessage('write failed')).toHaveLength(2);
  });
});
