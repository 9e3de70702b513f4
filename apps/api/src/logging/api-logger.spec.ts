import { type LogFormat } from '@switchboard/observability';

import { createApiLogger } from './api-logger';

// Issue 10 item 24: whatever shape a request is logged in, no credential it carries reaches the log.
describe('the api logger', () => {
  const SECRETS = {
    bearer: 'Bearer eyJhbGciOiJIUzI1NiJ9.bearer-secret',
    cookie: 'sb_session=session-secret; sb_csrf=csrf-secret',
    apiKey: 'sbk_abcdefghijkl_api-key-secret',
    password: 'password-secret',
    newPassword: 'new-password-secret',
    refreshToken: 'refresh-token-secret',
    mfaToken: 'mfa-token-secret',
    recoveryCode: 'abcde-fghij',
    totpCode: '493817',
    oneTimePassword: 'one-time-password-secret',
    setCookie: 'sb_session=issued-session-secret',
  };

  function capture(format: LogFormat = 'json'): {
    lines: () => string;
    logger: ReturnType<typeof createApiLogger>;
  } {
    let output = '';
    const destination = { write: (chunk: string) => void (output += chunk) };
    const logger = createApiLogger('trace', { destination, format });
    return { lines: () => output, logger };
  }

  const request = {
    method: 'POST',
    url: '/api/v1/auth/token/totp',
    headers: {
      authorization: SECRETS.bearer,
      cookie: SECRETS.cookie,
      'x-api-key': SECRETS.apiKey,
      'user-agent': 'curl/8',
    },
    body: {
      username: 'alice',
      password: SECRETS.password,
      newPassword: SECRETS.newPassword,
      refreshToken: SECRETS.refreshToken,
      mfaToken: SECRETS.mfaToken,
      recoveryCode: SECRETS.recoveryCode,
      code: SECRETS.totpCode,
    },
  };

  it.each([
    ['as req', (logger: ReturnType<typeof createApiLogger>) => logger.info({ req: request }, 'request')],
    ['nested in a child', (logger) => logger.child({ component: 'http' }).warn({ req: request }, 'x')],
    ['as its body alone', (logger) => logger.debug({ body: request.body, headers: request.headers }, 'body')],
    [
      'as top-level fields',
      (logger) => {
        const { code: _code, ...fields } = request.body; // a bare `code` is too common a name to censor
        logger.error({ ...fields, oneTimePassword: SECRETS.oneTimePassword });
      },
    ],
    [
      'with the answer’s headers',
      (logger) => logger.info({ res: { statusCode: 200, headers: { 'set-cookie': SECRETS.setCookie } } }),
    ],
  ])('censors every credential of a request logged %s', (_label, log) => {
    for (const format of ['json', 'pretty'] as const) {
      const { lines, logger } = capture(format);
      log(logger);
      expectNoCredential(lines());
    }
  });

  function expectNoCredential(output: string): void {
    for (const [name, secret] of Object.entries(SECRETS)) {
      for (const part of secret.split(/[; =]/).filter((piece) => piece.length > 5)) {
        expect({ name, leaked: output.includes(part) }).toEqual({ name, leaked: false });
      }
    }
    expect(output).toContain('[redacted]');
  }

  it('keeps what is not a credential (method, url, user agent, username, an error code)', () => {
    const { lines, logger } = capture();
    logger.info({ req: request, err: { code: 'P2002', message: 'unique' } }, 'request');
    const [line] = lines().trim().split('\n');
    const entry = JSON.parse(line ?? '{}') as {
      req: { method: string; url: string; headers: Record<string, string>; body: Record<string, string> };
      err: { code: string };
    };
    expect(entry.req.method).toBe('POST');
    expect(entry.req.url).toBe('/api/v1/auth/token/totp');
    expect(entry.req.headers['user-agent']).toBe('curl/8');
    expect(entry.req.body['username']).toBe('alice');
    expect(entry.err.code).toBe('P2002');
  });
});
