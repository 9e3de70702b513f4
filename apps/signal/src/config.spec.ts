import { ConfigError, parseConfig } from '@switchboard/config';

import { signalConfigSchema } from './config';

function problems(env: Record<string, string>): readonly string[] {
  try {
    parseConfig(signalConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const RFC_SECRET_FILE =
  'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==';

describe('signalConfigSchema', () => {
  it('keeps the unauthenticated ops endpoints on loopback unless METRICS_HOST says otherwise', () => {
    expect(parseConfig(signalConfigSchema, { BIND_HOST: '0.0.0.0' }).METRICS_HOST).toBe('127.0.0.1');
    expect(parseConfig(signalConfigSchema, { METRICS_HOST: '0.0.0.0' }).METRICS_HOST).toBe('0.0.0.0');
    expect(problems({ METRICS_HOST: 'localhost' })).toEqual([
      'METRICS_HOST: must be an IP address (0.0.0.0 or :: listens everywhere) (got "localhost")',
    ]);
  });

  it('defaults to hbbs ports and lets everything start on one machine', () => {
    const config = parseConfig(signalConfigSchema, {});
    expect(config).toMatchObject({
      SIGNAL_PORT: 21116,
      SIGNAL_NAT_PORT: 21115,
      SIGNAL_WS_PORT: 21118,
      METRICS_PORT: 9116,
      METRICS_HOST: '127.0.0.1',
      BIND_HOST: '0.0.0.0',
      KEY_DIR: './var/keys',
      KEY: '-',
      REGISTRATION_POLICY: 'open',
      TRUSTED_PROXIES: [],
      RELAY_SERVERS: [],
      SHUTDOWN_TIMEOUT_SECONDS: 10,
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOG_LEVEL: 'info',
    });
  });

  it('has safe defaults for relay tickets: rate limits per network and per target id, the answer IP check on', () => {
    expect(parseConfig(signalConfigSchema, {})).toMatchObject({
      RATE_LIMIT_IPV6_PREFIX: 64,
      RELAY_TICKETS_PER_IP_PER_MINUTE: 60,
      RELAY_TICKETS_PER_ID_PER_MINUTE: 30,
      RELAY_TICKET_IP_CHECK: true,
    });
    expect(parseConfig(signalConfigSchema, { RELAY_TICKET_IP_CHECK: 'false' }).RELAY_TICKET_IP_CHECK).toBe(
      false,
    );
    expect(problems({ RELAY_TICKETS_PER_IP_PER_MINUTE: '0' })).toHaveLength(1);
  });

  it('forwards tunnelled client API calls to the api on 21114 by default, within the client’s patience', () => {
    expect(parseConfig(signalConfigSchema, {})).toMatchObject({
      API_PROXY_ENABLED: true,
      API_URL: 'http://127.0.0.1:21114',
      API_PROXY_TIMEOUT_MS: 10_000,
      API_PROXY_MAX_RESPONSE_BYTES: 1024 * 1024,
      API_PROXY_MAX_IN_FLIGHT: 64,
    });
    expect(parseConfig(signalConfigSchema, { API_URL: 'https://api.example:8443' }).API_URL).toBe(
      'https://api.example:8443',
    );
    const bad = problems({
      API_URL: 'http://user:secret@api.example/api',
      API_PROXY_TIMEOUT_MS: '20000',
      API_PROXY_MAX_RESPONSE_BYTES: String(32 * 1024 * 1024),
    });
    expect(bad).toHaveLength(3);
    expect(bad.join('\n')).not.toContain('secret');
    for (const url of [
      'ftp://api.example',
      '127.0.0.1:21114',
      'http://api.example/?x=1',
      'http://api.example/#f',
    ]) {
      expect(problems({ API_URL: url })).toHaveLength(1);
    }
  });

  it('derives the NAT-test and WebSocket ports from SIGNAL_PORT as hbbs does', () => {
    const config = parseConfig(signalConfigSchema, { SIGNAL_PORT: '30000' });
    expect([config.SIGNAL_NAT_PORT, config.SIGNAL_WS_PORT]).toEqual([29999, 30002]);
  });

  it('takes explicit NAT-test and WebSocket ports over the derived ones', () => {
    const config = parseConfig(signalConfigSchema, { SIGNAL_NAT_PORT: '4000', SIGNAL_WS_PORT: '4443' });
    expect([config.SIGNAL_PORT, config.SIGNAL_NAT_PORT, config.SIGNAL_WS_PORT]).toEqual([21116, 4000, 4443]);
  });

  it('says which derived port is out of range and how to fix it', () => {
    expect(problems({ SIGNAL_PORT: '1' })).toEqual([
      'SIGNAL_NAT_PORT: defaults to SIGNAL_PORT−1 = 0, which is not a port; set SIGNAL_NAT_PORT',
    ]);
    expect(problems({ SIGNAL_PORT: '65535' })).toEqual([
      'SIGNAL_WS_PORT: defaults to SIGNAL_PORT+2 = 65537, which is not a port; set SIGNAL_WS_PORT',
    ]);
  });

  it('runs every listener plain without a certificate and dual with one, unless a mode is set', () => {
    expect(parseConfig(signalConfigSchema, {})).toMatchObject({ SIGNAL_TLS: 'off', SIGNAL_WS_TLS: 'off' });
    const pair = { TLS_CERT_FILE: '/tls/server.crt', TLS_KEY_FILE: '/tls/server.key' };
    expect(parseConfig(signalConfigSchema, pair)).toMatchObject({
      SIGNAL_TLS: 'dual',
      SIGNAL_WS_TLS: 'dual',
      SIGNAL_TLS_PLAIN_AFTER_MS: 200,
      TLS_PUBLIC_HOSTS: [],
      TLS_RELOAD_SECONDS: 5,
      TLS_HANDSHAKE_TIMEOUT_SECONDS: 10,
      TLS_MAX_PENDING_HANDSHAKES: 256,
    });
    expect(
      parseConfig(signalConfigSchema, { ...pair, SIGNAL_TLS: 'on', SIGNAL_WS_TLS: 'off' }),
    ).toMatchObject({ SIGNAL_TLS: 'on', SIGNAL_WS_TLS: 'off' });
    expect(parseConfig(signalConfigSchema, { SIGNAL_TLS: 'off' }).SIGNAL_TLS).toBe('off');
  });

  it('lists every TLS problem at once: a half pair, a mode that needs the pair, an unknown mode', () => {
    expect(problems({ TLS_CERT_FILE: '/tls/server.crt', SIGNAL_WS_TLS: 'maybe' })).toEqual([
      'SIGNAL_WS_TLS: must be one of off, dual, on (got "maybe")',
    ]);
    expect(problems({ TLS_CERT_FILE: '/tls/server.crt' })).toEqual([
      'TLS_KEY_FILE: must be set with TLS_CERT_FILE',
    ]);
    expect(problems({ SIGNAL_TLS: 'dual', SIGNAL_WS_TLS: 'on' })).toEqual([
      'SIGNAL_TLS: is dual, which needs TLS_CERT_FILE and TLS_KEY_FILE (got "dual")',
      'SIGNAL_WS_TLS: is on, which needs TLS_CERT_FILE and TLS_KEY_FILE (got "on")',
    ]);
  });

  it('refuses TCP ports that collide', () => {
    expect(problems({ METRICS_PORT: '21118' })).toEqual([
      'METRICS_PORT: must differ from SIGNAL_WS_PORT (got "21118")',
    ]);
    expect(problems({ SIGNAL_PORT: '4001', SIGNAL_WS_PORT: '4000', SIGNAL_NAT_PORT: '4000' })).toEqual([
      'SIGNAL_WS_PORT: must differ from SIGNAL_NAT_PORT (got "4000")',
    ]);
  });

  it('accepts an IPv6 bind host and IP or CIDR trusted proxies', () => {
    const config = parseConfig(signalConfigSchema, {
      BIND_HOST: '::',
      TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1, fd00::/32, ::1',
      RELAY_SERVERS: 'relay1.example.com, relay2.example.com:21117, 192.0.2.7, [2001:db8::1]:21117',
    });
    expect(config.BIND_HOST).toBe('::');
    expect(config.TRUSTED_PROXIES).toEqual(['10.0.0.0/8', '127.0.0.1', 'fd00::/32', '::1']);
    expect(config.RELAY_SERVERS).toHaveLength(4);
  });

  it('refuses trusted-proxy ranges wider than /8 or /32 unless TRUSTED_PROXIES_ALLOW_WIDE says so', () => {
    expect(problems({ TRUSTED_PROXIES: '10.0.0.0/7' })).toEqual([
      expect.stringMatching(
        /^TRUSTED_PROXIES: 10\.0\.0\.0\/7 is wider than .*TRUSTED_PROXIES_ALLOW_WIDE=true/,
      ),
    ]);
    expect(problems({ TRUSTED_PROXIES: 'fd00::/8' })).toHaveLength(1);
    expect(
      parseConfig(signalConfigSchema, { TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32' }).TRUST_X_REAL_IP,
    ).toBe(false);
    const allowed = parseConfig(signalConfigSchema, {
      TRUSTED_PROXIES: '0.0.0.0/0',
      TRUSTED_PROXIES_ALLOW_WIDE: 'yes',
      TRUST_X_REAL_IP: 'true',
    });
    expect([allowed.TRUSTED_PROXIES, allowed.TRUST_X_REAL_IP]).toEqual([['0.0.0.0/0'], true]);
  });

  it('reads the network limits: the global cap, the IPv6 prefix and WebSocket origins', () => {
    expect(parseConfig(signalConfigSchema, {})).toMatchObject({
      SIGNAL_MAX_CONNECTIONS: 20_000,
      RATE_LIMIT_IPV6_PREFIX: 64,
      WS_ALLOWED_ORIGINS: [],
    });
    expect(
      problems({ SIGNAL_MAX_CONNECTIONS: '0', RATE_LIMIT_IPV6_PREFIX: '16', WS_ALLOWED_ORIGINS: 'x' }),
    ).toEqual([
      'WS_ALLOWED_ORIGINS.0: must be an origin: scheme://host[:port], no path',
      'RATE_LIMIT_IPV6_PREFIX: must be between 32 and 128 (got "16")',
      'SIGNAL_MAX_CONNECTIONS: must be greater than 0 (got "0")',
    ]);
  });

  it('reports every bad value at once', () => {
    const found = problems({
      SIGNAL_PORT: 'abc',
      LOG_LEVEL: 'loud',
      BIND_HOST: 'localhost',
      REGISTRATION_POLICY: 'closed',
      TRUSTED_PROXIES: '10.0.0.0/33,proxy.local',
      RELAY_SERVERS: 'ok.example.com,bad host,x.example.com:99999',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'SIGNAL_PORT: must be a port number (got "abc")',
        expect.stringMatching(/^LOG_LEVEL: must be one of .* \(got "loud"\)$/),
        'BIND_HOST: must be an IP address (got "localhost")',
        'REGISTRATION_POLICY: must be one of open, token, approval, locked (got "closed")',
        'TRUSTED_PROXIES.0: must be an IP address or CIDR range (e.g. 10.0.0.0/8)',
        'TRUSTED_PROXIES.1: must be an IP address or CIDR range (e.g. 10.0.0.0/8)',
        'RELAY_SERVERS.1: must be host or host:port',
        'RELAY_SERVERS.2: must be host or host:port',
      ]),
    );
    expect(found).toHaveLength(8);
  });

  it('reads a blank KEY as unset (the key files), never as "no licence check"', () => {
    expect(parseConfig(signalConfigSchema, { KEY: '' }).KEY).toBe('-');
    expect(parseConfig(signalConfigSchema, { KEY: '   ' }).KEY).toBe('-');
  });

  it('accepts every hbbs KEY form but a corrupt secret key, without echoing it', () => {
    expect(parseConfig(signalConfigSchema, { KEY: '_' }).KEY).toBe('_');
    expect(parseConfig(signalConfigSchema, { KEY: 'none' }).KEY).toBe('none');
    expect(parseConfig(signalConfigSchema, { KEY: 'some licence' }).KEY).toBe('some licence');
    expect(parseConfig(signalConfigSchema, { KEY: RFC_SECRET_FILE }).KEY).toBe(RFC_SECRET_FILE);
    const corrupt = Buffer.from(RFC_SECRET_FILE, 'base64');
    corrupt[63] = (corrupt[63] ?? 0) ^ 1;
    expect(problems({ KEY: corrupt.toString('base64') })).toEqual([
      'KEY: looks like a 64-byte secret key but its public half does not match its seed (got (hidden))',
    ]);
  });
});
