import { hostname } from 'node:os';

import { ConfigError, parseConfig } from '@switchboard/config';

import { effectiveListenerMode } from '@switchboard/tls';

import { relayConfigSchema, relayPublicHosts } from './config';

function problems(env: Record<string, string>): readonly string[] {
  try {
    parseConfig(relayConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('relayConfigSchema', () => {
  it('keeps the unauthenticated ops endpoints on loopback unless METRICS_HOST says otherwise', () => {
    expect(parseConfig(relayConfigSchema, { BIND_HOST: '0.0.0.0' }).METRICS_HOST).toBe('127.0.0.1');
    expect(parseConfig(relayConfigSchema, { METRICS_HOST: '0.0.0.0' }).METRICS_HOST).toBe('0.0.0.0');
    expect(problems({ METRICS_HOST: 'localhost' })).toEqual([
      'METRICS_HOST: must be an IP address (0.0.0.0 or :: listens everywhere) (got "localhost")',
    ]);
  });

  it('defaults to hbbr ports and limits, strict, KEY unset (signal’s public key from KEY_DIR when there)', () => {
    expect(parseConfig(relayConfigSchema, {})).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'auto',
      RELAY_PORT: 21117,
      RELAY_WS_PORT: 21119,
      METRICS_PORT: 9117,
      METRICS_HOST: '127.0.0.1',
      BIND_HOST: '0.0.0.0',
      RELAY_PUBLIC_ADDR: '127.0.0.1:21117',
      RELAY_NODE_ID: `${hostname()}:21117`,
      KEY: undefined,
      KEY_DIR: './var/keys',
      TOTAL_BANDWIDTH: 1024,
      SINGLE_BANDWIDTH: 128,
      LIMIT_SPEED: 32,
      RELAY_STRICT: true,
      RELAY_TICKET_IP_CHECK: true,
      RELAY_ALIASES: [],
      RATE_LIMIT_IPV6_PREFIX: 64,
      DRAIN_TIMEOUT_SECONDS: 25,
      RELAY_LEAVE_GRACE_SECONDS: 2,
      REDIS_KEY_PREFIX: 'switchboard',
      RELAY_CAPACITY: 2000,
      RELAY_FIRST_FRAME_TIMEOUT_SECONDS: 30,
      RELAY_UNPAIRED_TIMEOUT_SECONDS: 30,
      RELAY_TICKET_WAIT_SECONDS: 3,
      RELAY_IDLE_TIMEOUT_SECONDS: 30,
      RELAY_MAX_CONNECTIONS_PER_IP: 256,
      RELAY_MAX_CONNECTIONS: 10_000,
      TRUSTED_PROXIES: [],
      TRUSTED_PROXIES_ALLOW_WIDE: false,
      TRUST_X_REAL_IP: false,
      WS_ALLOWED_ORIGINS: [],
      RELAY_LISTS_DIR: '.',
      RELAY_LISTS_RELOAD_SECONDS: 5,
      DOWNGRADE_THRESHOLD: 0.66,
      DOWNGRADE_START_CHECK: 1800,
      TLS_CERT_FILE: undefined,
      TLS_KEY_FILE: undefined,
      TLS_PUBLIC_HOSTS: [],
      TLS_RELOAD_SECONDS: 5,
      TLS_HANDSHAKE_TIMEOUT_SECONDS: 10,
      TLS_MAX_PENDING_HANDSHAKES: 256,
      RELAY_TLS: undefined,
      RELAY_WS_TLS: undefined,
    });
  });

  it('takes TLS modes per listener; unset means dual with a certificate, off without', () => {
    const withCert = parseConfig(relayConfigSchema, {
      TLS_CERT_FILE: '/tls/tls.crt',
      TLS_KEY_FILE: '/tls/tls.key',
      RELAY_WS_TLS: 'on',
    });
    expect(effectiveListenerMode(withCert.RELAY_TLS, withCert)).toBe('dual');
    expect(effectiveListenerMode(withCert.RELAY_WS_TLS, withCert)).toBe('on');
    const plain = parseConfig(relayConfigSchema, { RELAY_TLS: 'off' });
    expect(effectiveListenerMode(plain.RELAY_TLS, plain)).toBe('off');
    expect(effectiveListenerMode(plain.RELAY_WS_TLS, plain)).toBe('off');
  });

  it('lists every TLS problem at once: a half pair, a mode that needs a certificate, a bad mode', () => {
    expect(problems({ TLS_CERT_FILE: '/tls/tls.crt', RELAY_TLS: 'maybe' })).toEqual([
      'RELAY_TLS: must be one of off, dual, on (got "maybe")',
    ]);
    expect(problems({ TLS_CERT_FILE: '/tls/tls.crt' })).toEqual([
      'TLS_KEY_FILE: must be set with TLS_CERT_FILE',
    ]);
    expect(problems({ RELAY_TLS: 'dual', RELAY_WS_TLS: 'on' })).toEqual([
      'RELAY_TLS: is dual, which needs TLS_CERT_FILE and TLS_KEY_FILE (got "dual")',
      'RELAY_WS_TLS: is on, which needs TLS_CERT_FILE and TLS_KEY_FILE (got "on")',
    ]);
    expect(problems({ TLS_KEY_FILE: '/tls/tls.key', RELAY_WS_TLS: 'dual' })).toEqual([
      'TLS_CERT_FILE: must be set with TLS_KEY_FILE',
      'RELAY_WS_TLS: is dual, which needs TLS_CERT_FILE and TLS_KEY_FILE (got "dual")',
    ]);
  });

  it('warns about certificates for RELAY_PUBLIC_ADDR’s host and TLS_PUBLIC_HOSTS', () => {
    const config = (env: Record<string, string>) => relayPublicHosts(parseConfig(relayConfigSchema, env));
    expect(
      config({ RELAY_PUBLIC_ADDR: 'relay.example.com:21117', TLS_PUBLIC_HOSTS: 'r1.example.com' }),
    ).toEqual(['relay.example.com', 'r1.example.com']);
    expect(config({ RELAY_PUBLIC_ADDR: '[2001:db8::5]:21117' })).toEqual(['2001:db8::5']);
    expect(config({ RELAY_PUBLIC_ADDR: 'relay.example.com' })).toEqual(['relay.example.com']);
  });

  it('takes the ticket settings: aliases as host[:port], the IP check as a flag', () => {
    const config = parseConfig(relayConfigSchema, {
      RELAY_ALIASES: 'relay.example.com, [2001:db8::5]:21117',
      RELAY_TICKET_IP_CHECK: 'false',
      RATE_LIMIT_IPV6_PREFIX: '56',
    });
    expect(config.RELAY_ALIASES).toEqual(['relay.example.com', '[2001:db8::5]:21117']);
    expect(config.RELAY_TICKET_IP_CHECK).toBe(false);
    expect(config.RATE_LIMIT_IPV6_PREFIX).toBe(56);
    expect(problems({ RELAY_ALIASES: 'not a host' })).toEqual([
      'RELAY_ALIASES.0: must be host or host:port, as clients will dial it',
    ]);
  });

  it('takes trusted proxies as IPs or CIDR ranges and names any that is not one', () => {
    expect(parseConfig(relayConfigSchema, { TRUSTED_PROXIES: '10.0.0.0/8, ::1' }).TRUSTED_PROXIES).toEqual([
      '10.0.0.0/8',
      '::1',
    ]);
    expect(problems({ TRUSTED_PROXIES: '10.0.0.0/33,proxy.local' })).toEqual([
      'TRUSTED_PROXIES.0: must be an IP address or CIDR range (e.g. 10.0.0.0/8)',
      'TRUSTED_PROXIES.1: must be an IP address or CIDR range (e.g. 10.0.0.0/8)',
    ]);
  });

  it('refuses trusted-proxy ranges wider than /8 or /32 unless TRUSTED_PROXIES_ALLOW_WIDE says so', () => {
    const wide = { TRUSTED_PROXIES: '10.0.0.0/8, 0.0.0.0/0, 2001:db8::/32, ::/0' };
    expect(problems(wide)).toEqual([
      expect.stringMatching(
        /^TRUSTED_PROXIES: 0\.0\.0\.0\/0, ::\/0 are wider than \/8 \(IPv4\) or \/32 \(IPv6\).*TRUSTED_PROXIES_ALLOW_WIDE=true/,
      ),
    ]);
    expect(problems({ TRUSTED_PROXIES: '::ffff:0.0.0.0/96' })).toHaveLength(1);
    const allowed = parseConfig(relayConfigSchema, { ...wide, TRUSTED_PROXIES_ALLOW_WIDE: 'true' });
    expect(allowed.TRUSTED_PROXIES).toHaveLength(4);
  });

  it('takes WebSocket origins and refuses what is not one', () => {
    const config = parseConfig(relayConfigSchema, {
      WS_ALLOWED_ORIGINS: 'https://console.example.com, http://10.0.0.1:8080',
    });
    expect(config.WS_ALLOWED_ORIGINS).toEqual(['https://console.example.com', 'http://10.0.0.1:8080']);
    expect(problems({ WS_ALLOWED_ORIGINS: 'console.example.com,https://x.example.com/path' })).toEqual([
      'WS_ALLOWED_ORIGINS.0: must be an origin: scheme://host[:port], no path',
      'WS_ALLOWED_ORIGINS.1: must be an origin: scheme://host[:port], no path',
    ]);
  });

  it('has no database setting at all: the relay holds no database credentials', () => {
    const config = parseConfig(relayConfigSchema, { DATABASE_URL: 'postgresql://u:p@db/x' });
    expect(config).not.toHaveProperty('DATABASE_URL');
  });

  it('derives the WebSocket port and node id from RELAY_PORT unless set', () => {
    const derived = parseConfig(relayConfigSchema, { RELAY_PORT: '31117' });
    expect([derived.RELAY_WS_PORT, derived.RELAY_NODE_ID]).toEqual([31119, `${hostname()}:31117`]);
    const explicit = parseConfig(relayConfigSchema, { RELAY_WS_PORT: '443', RELAY_NODE_ID: 'relay-eu-1' });
    expect([explicit.RELAY_WS_PORT, explicit.RELAY_NODE_ID]).toEqual([443, 'relay-eu-1']);
  });

  it('reads relay tuning and accepts public addresses clients can dial', () => {
    const config = parseConfig(relayConfigSchema, {
      RELAY_PUBLIC_ADDR: 'relay.example.com:21117',
      TOTAL_BANDWIDTH: '2048',
      SINGLE_BANDWIDTH: '64.5',
      RELAY_STRICT: 'false',
      DRAIN_TIMEOUT_SECONDS: '0.5',
    });
    expect(config).toMatchObject({
      RELAY_PUBLIC_ADDR: 'relay.example.com:21117',
      TOTAL_BANDWIDTH: 2048,
      SINGLE_BANDWIDTH: 64.5,
      RELAY_STRICT: false,
      DRAIN_TIMEOUT_SECONDS: 0.5,
    });
    expect(
      parseConfig(relayConfigSchema, { RELAY_PUBLIC_ADDR: '[2001:db8::1]:21117' }).RELAY_PUBLIC_ADDR,
    ).toBe('[2001:db8::1]:21117');
  });

  it('reads timeouts (fractions allowed, for tests), limits, the lists directory and the Redis prefix', () => {
    const config = parseConfig(relayConfigSchema, {
      RELAY_FIRST_FRAME_TIMEOUT_SECONDS: '0.3',
      RELAY_UNPAIRED_TIMEOUT_SECONDS: '2',
      RELAY_IDLE_TIMEOUT_SECONDS: '1.5',
      RELAY_MAX_CONNECTIONS_PER_IP: '16',
      RELAY_CAPACITY: '500',
      RELAY_LISTS_DIR: '/etc/relay',
      REDIS_KEY_PREFIX: 'tenant-a',
      DOWNGRADE_START_CHECK: '60',
    });
    expect(config).toMatchObject({
      RELAY_FIRST_FRAME_TIMEOUT_SECONDS: 0.3,
      RELAY_UNPAIRED_TIMEOUT_SECONDS: 2,
      RELAY_IDLE_TIMEOUT_SECONDS: 1.5,
      RELAY_MAX_CONNECTIONS_PER_IP: 16,
      RELAY_CAPACITY: 500,
      RELAY_LISTS_DIR: '/etc/relay',
      REDIS_KEY_PREFIX: 'tenant-a',
      DOWNGRADE_START_CHECK: 60,
    });
    expect(
      problems({
        RELAY_MAX_CONNECTIONS_PER_IP: '1.5',
        REDIS_KEY_PREFIX: 'has space',
        RELAY_IDLE_TIMEOUT_SECONDS: '0',
      }),
    ).toHaveLength(3);
  });

  it('reports every bad value at once', () => {
    const found = problems({
      RELAY_PORT: 'abc',
      LOG_LEVEL: 'loud',
      RELAY_PUBLIC_ADDR: 'http://relay',
      RELAY_NODE_ID: 'has spaces',
      TOTAL_BANDWIDTH: '0',
      RELAY_STRICT: 'maybe',
      DRAIN_TIMEOUT_SECONDS: '-1',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'RELAY_PORT: must be a port number (got "abc")',
        expect.stringMatching(/^LOG_LEVEL: must be one of/),
        'RELAY_PUBLIC_ADDR: must be host or host:port, as clients will dial it (got "http://relay")',
        expect.stringMatching(/^RELAY_NODE_ID: must be 1-128 letters/),
        'TOTAL_BANDWIDTH: must be greater than 0 (got "0")',
        expect.stringMatching(/^RELAY_STRICT: must be true or false/),
        'DRAIN_TIMEOUT_SECONDS: must be greater than 0 (got "-1")',
      ]),
    );
    expect(found).toHaveLength(7);
  });

  it('refuses colliding ports, an out-of-range derived port and a per-session cap above the total', () => {
    expect(problems({ METRICS_PORT: '21119' })).toEqual([
      'METRICS_PORT: must differ from RELAY_WS_PORT (got "21119")',
    ]);
    expect(problems({ RELAY_PORT: '65534' })).toEqual([
      'RELAY_WS_PORT: defaults to RELAY_PORT+2 = 65536, which is not a port; set RELAY_WS_PORT',
    ]);
    expect(problems({ SINGLE_BANDWIDTH: '2000' })).toEqual([
      'SINGLE_BANDWIDTH: must not exceed TOTAL_BANDWIDTH (1024) (got "2000")',
    ]);
  });
});
