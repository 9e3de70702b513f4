import { ConfigError, parseConfig } from '@switchboard/config';

import { apiConfigSchema, apiServesHttps, bootstrapConfigSchema } from './config';
import { generateSecrets } from './secrets';

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('api config', () => {
  it('starts on one machine with no environment at all', () => {
    const config = parseConfig(apiConfigSchema, {});
    expect(config).toMatchObject({
      API_PORT: 21114,
      API_HOST: '0.0.0.0',
      KEY_DIR: './var/keys',
      TRUST_PROXY: [],
      API_BODY_LIMIT_BYTES: 1024 * 1024,
      // Nothing unauthenticated beyond the operator API itself: docs off, ops endpoints on loopback.
      API_DOCS_ENABLED: false,
      METRICS_PORT: 9114,
      METRICS_HOST: '127.0.0.1',
    });
    expect(config.JWT_SECRET).toBeUndefined();
    expect(config.PUBLIC_URL).toBeUndefined();
  });

  it('validates the live stream settings, naming every problem', () => {
    const config = parseConfig(apiConfigSchema, {
      LIVE_ORIGINS: 'https://console.example.com, http://localhost:5173',
    });
    expect(config.LIVE_ORIGINS).toEqual(['https://console.example.com', 'http://localhost:5173']);
    expect(config).toMatchObject({ LIVE_MAX_CONNECTIONS_PER_USER: 8, LIVE_HEARTBEAT_INTERVAL_MS: 20_000 });
    const problems = problemsOf(() =>
      parseConfig(apiConfigSchema, {
        LIVE_ORIGINS: 'https://console.example.com/app,ftp://x',
        LIVE_MAX_BUFFERED_BYTES: '0',
        LIVE_MAX_CONNECTIONS: '4',
        LIVE_MAX_CONNECTIONS_PER_USER: '5',
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^LIVE_ORIGINS\.0: must be an origin/),
        expect.stringMatching(/^LIVE_ORIGINS\.1: must be an origin/),
        expect.stringMatching(/^LIVE_MAX_BUFFERED_BYTES/),
      ]),
    );
  });

  it('keeps the per-user live cap within the replica cap', () => {
    expect(
      problemsOf(() =>
        parseConfig(apiConfigSchema, { LIVE_MAX_CONNECTIONS: '4', LIVE_MAX_CONNECTIONS_PER_USER: '5' }),
      ),
    ).toEqual(['LIVE_MAX_CONNECTIONS_PER_USER: must not exceed LIVE_MAX_CONNECTIONS (got "5")']);
  });

  it('accepts proxy addresses, CIDRs and named ranges, and names each bad one', () => {
    const config = parseConfig(apiConfigSchema, { TRUST_PROXY: '10.0.0.0/8, ::1, loopback,192.168.1.7' });
    expect(config.TRUST_PROXY).toEqual(['10.0.0.0/8', '::1', 'loopback', '192.168.1.7']);
    expect(
      problemsOf(() => parseConfig(apiConfigSchema, { TRUST_PROXY: '10.0.0.0/33,proxy.local,fe80::/64' })),
    ).toEqual([
      'TRUST_PROXY.0: must be an IP address, a CIDR or loopback',
      'TRUST_PROXY.1: must be an IP address, a CIDR or loopback',
    ]);
  });

  it('refuses TRUST_PROXY ranges wider than /8 or /32, named ones included, unless allowed', () => {
    expect(
      problemsOf(() => parseConfig(apiConfigSchema, { TRUST_PROXY: '10.0.0.0/8, 0.0.0.0/0, uniquelocal' })),
    ).toEqual([
      expect.stringMatching(
        /^TRUST_PROXY: 0\.0\.0\.0\/0, uniquelocal are wider than .*TRUST_PROXY_ALLOW_WIDE=true/,
      ),
    ]);
    expect(problemsOf(() => parseConfig(apiConfigSchema, { TRUST_PROXY: 'linklocal' }))).toHaveLength(1);
    const allowed = parseConfig(apiConfigSchema, {
      TRUST_PROXY: 'uniquelocal',
      TRUST_PROXY_ALLOW_WIDE: 'true',
    });
    expect(allowed.TRUST_PROXY).toEqual(['uniquelocal']);
  });

  it('validates secrets given in the environment without echoing them', () => {
    const good = generateSecrets();
    expect(parseConfig(apiConfigSchema, good).AUDIT_HMAC_KEYS).toBe(good.AUDIT_HMAC_KEYS);
    const problems = problemsOf(() =>
      parseConfig(apiConfigSchema, {
        JWT_SECRET: 'too-short-secret',
        AUDIT_HMAC_KEYS: 'k1:c2hvcnQ=',
        DATA_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64'),
      }),
    );
    expect(problems).toEqual([
      'JWT_SECRET: must be at least 32 characters (got (hidden))',
      expect.stringMatching(
        /^AUDIT_HMAC_KEYS: Invalid audit keyring: .*at least 32 bytes \(got \(hidden\)\)$/,
      ),
      expect.stringMatching(/^DATA_ENCRYPTION_KEY: must be 32 bytes in base64/),
    ]);
    expect(problems.join('\n')).not.toContain('too-short-secret');
  });

  it('verifies the audit chain every 15 minutes by default, takes 0 as off, and refuses other values', () => {
    expect(parseConfig(apiConfigSchema, {}).AUDIT_VERIFY_INTERVAL_SECONDS).toBe(900);
    expect(
      parseConfig(apiConfigSchema, { AUDIT_VERIFY_INTERVAL_SECONDS: '0' }).AUDIT_VERIFY_INTERVAL_SECONDS,
    ).toBe(0);
    expect(
      parseConfig(apiConfigSchema, { AUDIT_VERIFY_INTERVAL_SECONDS: '60' }).AUDIT_VERIFY_INTERVAL_SECONDS,
    ).toBe(60);
    for (const bad of ['-1', '1.5', 'hourly', '604801']) {
      expect(problemsOf(() => parseConfig(apiConfigSchema, { AUDIT_VERIFY_INTERVAL_SECONDS: bad }))).toEqual([
        expect.stringMatching(/^AUDIT_VERIFY_INTERVAL_SECONDS: must be/),
      ]);
    }
  });

  it('trims a trailing slash from PUBLIC_URL and refuses other schemes', () => {
    expect(parseConfig(apiConfigSchema, { PUBLIC_URL: 'https://rd.example.com/' }).PUBLIC_URL).toBe(
      'https://rd.example.com',
    );
    expect(problemsOf(() => parseConfig(apiConfigSchema, { PUBLIC_URL: 'ftp://x' }))).toEqual([
      'PUBLIC_URL: must be an http:// or https:// URL (got "ftp://x")',
    ]);
  });
});

describe('api HTTPS config', () => {
  const pair = { TLS_CERT_FILE: '/tls/server.crt', TLS_KEY_FILE: '/tls/server.key' };

  it('serves HTTPS by default once a certificate is configured, and plain http without one or when off', () => {
    expect(apiServesHttps(parseConfig(apiConfigSchema, {}))).toBe(false);
    const withPair = parseConfig(apiConfigSchema, pair);
    expect(apiServesHttps(withPair)).toBe(true);
    expect(withPair).toMatchObject({
      TLS_RELOAD_SECONDS: 5,
      TLS_HANDSHAKE_TIMEOUT_SECONDS: 10,
      TLS_PUBLIC_HOSTS: [],
    });
    expect(apiServesHttps(parseConfig(apiConfigSchema, { ...pair, API_TLS: 'off' }))).toBe(false);
    expect(apiServesHttps(parseConfig(apiConfigSchema, { ...pair, API_TLS: 'on' }))).toBe(true);
  });

  it('names every TLS problem at once: a mode without files, half a pair, an unknown mode', () => {
    expect(problemsOf(() => parseConfig(apiConfigSchema, { API_TLS: 'on' }))).toEqual([
      expect.stringMatching(/^API_TLS: is on, which needs TLS_CERT_FILE and TLS_KEY_FILE/),
    ]);
    expect(problemsOf(() => parseConfig(apiConfigSchema, { TLS_CERT_FILE: '/tls/server.crt' }))).toEqual([
      expect.stringMatching(/^TLS_KEY_FILE: must be set with TLS_CERT_FILE/),
    ]);
    expect(problemsOf(() => parseConfig(apiConfigSchema, { ...pair, API_TLS: 'dual' }))).toEqual([
      expect.stringMatching(/^API_TLS: must be one of off, on/),
    ]);
  });

  it('takes a redirect port only beside HTTPS and apart from the other ports', () => {
    expect(
      parseConfig(apiConfigSchema, { ...pair, API_HTTP_REDIRECT_PORT: '8080' }).API_HTTP_REDIRECT_PORT,
    ).toBe(8080);
    expect(problemsOf(() => parseConfig(apiConfigSchema, { API_HTTP_REDIRECT_PORT: '8080' }))).toEqual([
      expect.stringMatching(/^API_HTTP_REDIRECT_PORT: redirects to HTTPS, so it needs API_TLS on/),
    ]);
    expect(
      problemsOf(() =>
        parseConfig(apiConfigSchema, { ...pair, API_PORT: '8443', API_HTTP_REDIRECT_PORT: '8443' }),
      ),
    ).toEqual([expect.stringMatching(/^API_HTTP_REDIRECT_PORT: must differ from API_PORT/)]);
    expect(
      problemsOf(() => parseConfig(apiConfigSchema, { ...pair, API_HTTP_REDIRECT_PORT: '9114' })),
    ).toEqual([expect.stringMatching(/^API_HTTP_REDIRECT_PORT: must differ from METRICS_PORT/)]);
  });

  it('refuses an http:// PUBLIC_URL while the api serves HTTPS (the console could not pass its Origin checks)', () => {
    expect(
      problemsOf(() => parseConfig(apiConfigSchema, { ...pair, PUBLIC_URL: 'http://rd.example.com' })),
    ).toEqual([expect.stringMatching(/^PUBLIC_URL: is http:\/\/ but the api serves HTTPS/)]);
    expect(parseConfig(apiConfigSchema, { ...pair, PUBLIC_URL: 'https://rd.example.com' }).PUBLIC_URL).toBe(
      'https://rd.example.com',
    );
    // Behind a TLS-terminating proxy (API_TLS off) an http:// address stays the operator's call.
    expect(
      parseConfig(apiConfigSchema, { ...pair, API_TLS: 'off', PUBLIC_URL: 'http://rd.example.com' })
        .PUBLIC_URL,
    ).toBe('http://rd.example.com');
  });
});

describe('bootstrap config', () => {
  it('defaults the admin to "admin" with a generated password, and lower-cases a given name', () => {
    expect(parseConfig(bootstrapConfigSchema, {})).toMatchObject({ ADMIN_USERNAME: 'admin' });
    expect(parseConfig(bootstrapConfigSchema, {}).ADMIN_PASSWORD).toBeUndefined();
    expect(parseConfig(bootstrapConfigSchema, { ADMIN_USERNAME: 'Ops.Lead' }).ADMIN_USERNAME).toBe(
      'ops.lead',
    );
  });

  it('refuses a short password and an unusable name, together', () => {
    expect(
      problemsOf(() =>
        parseConfig(bootstrapConfigSchema, { ADMIN_PASSWORD: 'elevenchars', ADMIN_USERNAME: '-x' }),
      ),
    ).toEqual(
      expect.arrayContaining([
        'ADMIN_PASSWORD: must be at least 12 characters (got (hidden))',
        expect.stringMatching(/^ADMIN_USERNAME: must be 1-64 of/),
      ]),
    );
  });
});
