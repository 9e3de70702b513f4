import { stripVTControlCharacters } from 'node:util';

import { createLogger, isPrettyLogFormat, type LogFormat } from './logger';

// Issue 11 item 3: readable logs for a person at a terminal, JSON for everyone else, and the same
// redaction either way.
describe('createLogger', () => {
  function capture(format: LogFormat | undefined, isTTY: boolean) {
    let output = '';
    const destination = { isTTY, write: (chunk: string) => void (output += chunk) };
    const logger = createLogger({
      name: 'svc',
      level: 'info',
      destination,
      redact: ['secretKey'],
      ...(format === undefined ? {} : { format }),
    });
    return { logger, output: () => stripVTControlCharacters(output) };
  }

  const isJsonLine = (text: string) => {
    try {
      return typeof JSON.parse(text.trim()) === 'object';
    } catch {
      return false;
    }
  };

  it.each<[LogFormat, boolean, boolean]>([
    ['auto', true, true],
    ['auto', false, false],
    ['pretty', false, true],
    ['pretty', true, true],
    ['json', true, false],
    ['json', false, false],
  ])('format %s to a terminal (%s) is pretty: %s', (format, toTerminal, pretty) => {
    expect(isPrettyLogFormat(format, toTerminal)).toBe(pretty);

    const { logger, output } = capture(format, toTerminal);
    logger.info({ port: 21114 }, 'api listening');
    expect(isJsonLine(output())).toBe(!pretty);
    expect(output()).toContain('api listening');
    expect(output()).toContain('21114');
  });

  it('writes JSON when no format is given, even to a terminal', () => {
    const { logger, output } = capture(undefined, true);
    logger.info('hello');
    expect(JSON.parse(output())).toMatchObject({ msg: 'hello', service: 'svc', level: 30 });
  });

  it('prints a pretty entry as one readable line with its level and service name', () => {
    const { logger, output } = capture('pretty', false);
    logger.warn({ peer: 'abc' }, 'something odd');
    const [first = ''] = output().split('\n');
    expect(first).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN \(svc\): something odd$/);
    expect(output()).toContain('peer: "abc"');
  });

  it.each<LogFormat>(['pretty', 'json'])(
    'censors secrets in %s output, common and service-specific',
    (format) => {
      const { logger, output } = capture(format, false);
      logger.info(
        { password: 'hunter2-password', user: { token: 'tok-3f9a1c' }, secretKey: 'sk-77aa41' },
        'login',
      );
      for (const secret of ['hunter2-password', 'tok-3f9a1c', 'sk-77aa41']) {
        expect({ secret, leaked: output().includes(secret) }).toEqual({ secret, leaked: false });
      }
      expect(output().match(/\[redacted\]/g)).toHaveLength(3);
    },
  );
});
