import { z } from 'zod';

import { ConfigError, loadConfig, parseConfig } from './load-config';
import { flag, list, port, sharedFields, DEFAULT_DATABASE_URL } from './fields';

const schema = z.object({
  ...sharedFields,
  API_PORT: port(21114),
  TRUST_PROXY: flag(false),
  ALLOWED: list(z.string().regex(/^[a-z]+$/, 'must be lower-case letters')),
  API_SECRET: z.string().min(8, 'must be at least 8 characters').default('defaultsecret'),
});

describe('parseConfig', () => {
  it('applies the defaults that start everything on one machine', () => {
    const config = parseConfig(schema, {});
    expect(config).toEqual({
      DATABASE_URL: DEFAULT_DATABASE_URL,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: 'switchboard',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'auto',
      API_PORT: 21114,
      TRUST_PROXY: false,
      ALLOWED: [],
      API_SECRET: 'defaultsecret',
    });
  });

  it('parses strings into typed values and treats blank as unset', () => {
    const config = parseConfig(schema, {
      API_PORT: ' 8080 ',
      TRUST_PROXY: 'Yes',
      ALLOWED: 'a, b,,c',
      LOG_LEVEL: '',
    });
    expect(config.API_PORT).toBe(8080);
    expect(config.TRUST_PROXY).toBe(true);
    expect(config.ALLOWED).toEqual(['a', 'b', 'c']);
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('returns a deeply frozen object', () => {
    const config = parseConfig(schema, { ALLOWED: 'x' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.ALLOWED)).toBe(true);
    expect(() => ((config as { API_PORT: number }).API_PORT = 1)).toThrow(TypeError);
  });

  it('reports every problem at once, naming each variable', () => {
    let caught: unknown;
    try {
      parseConfig(schema, {
        DATABASE_URL: 'mysql://x',
        REDIS_URL: 'nonsense',
        LOG_LEVEL: 'loud',
        API_PORT: '70000',
        TRUST_PROXY: 'maybe',
        ALLOWED: 'ok,NOT',
        API_SECRET: 'short',
        REDIS_KEY_PREFIX: 'has space',
        LOG_FORMAT: 'colourful',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toHaveLength(9);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^DATABASE_URL: must be a URL starting with postgres:\/\/ or postgresql:\/\//),
        expect.stringMatching(/^REDIS_URL: /),
        expect.stringMatching(/^LOG_LEVEL: must be one of .* \(got "loud"\)$/),
        expect.stringMatching(/^API_PORT: must be between 1 and 65535 \(got "70000"\)$/),
        expect.stringMatching(/^TRUST_PROXY: must be true or false/),
        expect.stringMatching(/^ALLOWED\.1: must be lower-case letters$/),
        expect.stringMatching(/^API_SECRET: must be at least 8 characters \(got \(hidden\)\)$/),
        expect.stringMatching(/^REDIS_KEY_PREFIX: must be .* \(got "has space"\)$/),
        expect.stringMatching(/^LOG_FORMAT: must be one of auto, json, pretty \(got "colourful"\)$/),
      ]),
    );
  });

  it('never echoes the password inside a URL, whatever the variable is called', () => {
    const schema = z.object({ API_URL: z.string().refine(() => false, 'is refused') });
    expect(() => parseConfig(schema, { API_URL: 'http://user:s3cret@api.example/x' })).toThrow(
      'API_URL: is refused (got "http://user:(hidden)@api.example/x")',
    );
    expect(() => parseConfig(schema, { API_URL: 'http://user:s3cret@api.example/x' })).not.toThrow(/s3cret/);
  });

  it('supports conditional requirements through refinements', () => {
    const conditional = z
      .object({ POLICY: z.enum(['open', 'token']).default('open'), TOKEN_URL: z.string().optional() })
      .superRefine((value, ctx) => {
        if (value.POLICY === 'token' && !value.TOKEN_URL) {
          ctx.addIssue({ code: 'custom', path: ['TOKEN_URL'], message: 'is required when POLICY=token' });
        }
      });
    expect(parseConfig(conditional, { POLICY: 'open' }).POLICY).toBe('open');
    expect(() => parseConfig(conditional, { POLICY: 'token' })).toThrow(
      /TOKEN_URL: is required when POLICY=token/,
    );
  });
});

describe('loadConfig', () => {
  it('prints every problem and exits with EX_CONFIG instead of throwing', () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const exit = jest.fn((code: number): never => {
      throw new Error(`exit ${code}`);
    });
    try {
      expect(() => loadConfig(schema, { API_PORT: 'x', LOG_LEVEL: 'loud' }, exit)).toThrow('exit 78');
    } finally {
      spy.mockRestore();
    }
    expect(exit).toHaveBeenCalledWith(78);
    const output = written.join('');
    expect(output).toContain('API_PORT: must be a port number (got "x")');
    expect(output).toContain('LOG_LEVEL: must be one of');
  });
});
