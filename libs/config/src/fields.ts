import { isIP } from 'node:net';

import { z } from 'zod';

// Reusable field schemas for the configuration contract (docs/architecture.md
// "Configuration contract"). Environment values are strings, so every field parses a string;
// defaults let the whole system start on one machine.

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/switchboard';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function port(defaultPort: number) {
  return z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535')
    .default(defaultPort);
}

/** A port that may be absent; the app derives it (as hbbs does for NAT test = port−1, WS = port+2). */
export function optionalPort() {
  return z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535')
    .optional();
}

function urlWithScheme(schemes: readonly string[], fallback: string) {
  return z
    .string()
    .refine(
      (value) => {
        try {
          return schemes.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${schemes.map((s) => `${s}//`).join(' or ')}`,
    )
    .default(fallback);
}

export const databaseUrl = urlWithScheme(['postgres:', 'postgresql:'], DEFAULT_DATABASE_URL);
export const redisUrl = urlWithScheme(['redis:', 'rediss:'], DEFAULT_REDIS_URL);

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    error: 'must be one of fatal, error, warn, info, debug, trace, silent',
  })
  .default('info');

/**
 * How logs are written (libs/observability createLogger): `json` lines for collectors, `pretty` lines
 * for a person, or `auto`: pretty exactly when stdout is a terminal.
 */
export const logFormat = z
  .enum(['auto', 'json', 'pretty'], { error: 'must be one of auto, json, pretty' })
  .default('auto');

const TRUE_WORDS = ['1', 'true', 'yes', 'on', 'y'];
const FALSE_WORDS = ['0', 'false', 'no', 'off', 'n'];

export function flag(defaultValue: boolean) {
  return z
    .string()
    .toLowerCase()
    .refine((v) => TRUE_WORDS.includes(v) || FALSE_WORDS.includes(v), 'must be true or false')
    .transform((v) => TRUE_WORDS.includes(v))
    .default(defaultValue);
}

export function positiveNumber(defaultValue: number) {
  return z.coerce
    .number({ error: 'must be a number' })
    .positive('must be greater than 0')
    .default(defaultValue);
}

export function positiveInteger(defaultValue: number) {
  return z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .positive('must be greater than 0')
    .default(defaultValue);
}

/** Comma-separated list; blanks dropped. */
export function list<Item extends z.ZodType<string, string>>(item: Item, defaultValue: string[] = []) {
  return z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .pipe(z.array(item))
    .default(defaultValue as z.output<Item>[]);
}

/** An IP address or a CIDR range, as in TRUSTED_PROXIES. */
export const ipOrCidr = z
  .string()
  .refine(isIpOrCidr, 'must be an IP address or CIDR range (e.g. 10.0.0.0/8)');

function isIpOrCidr(value: string): boolean {
  const [address = '', prefix, extra] = value.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Namespace of every Redis key and channel a service uses (`<prefix>:events`, `<prefix>:relay`…), so
 * several deployments, or parallel test runs, can share one Redis without hearing each other.
 */
export const redisKeyPrefix = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_", ":" or "-"')
  .default('switchboard');

/** Fields every service shares (docs/architecture.md "Configuration contract"). */
export const sharedFields = {
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: redisKeyPrefix,
  LOG_LEVEL: logLevel,
  LOG_FORMAT: logFormat,
};

/**
 * How much of a client's IPv6 address the per-IP limits count as one client (`RATE_LIMIT_IPV6_PREFIX`):
 * a /64 by default, since one customer usually holds a whole /64. See libs/transport `rateLimitKey`.
 */
export const ipv6PrefixLength = z.coerce
  .number({ error: 'must be a prefix length' })
  .int('must be a whole number')
  .min(32, 'must be between 32 and 128')
  .max(128, 'must be between 32 and 128')
  .default(64);

/**
 * The widest ranges a trusted-proxy list (TRUSTED_PROXIES, TRUST_PROXY) holds without an explicit
 * override: a proxy tier fits in a /8 or a /32, and every client inside a trusted range may name its
 * own address in X-Forwarded-For, so `0.0.0.0/0` would make every per-IP limit and ban moot.
 */
export const WIDEST_PROXY_PREFIX = { ipv4: 8, ipv6: 32 } as const;

const IPV4_MAPPED = /^::ffff:/i;

/** The entries of a validated proxy list (IPs and CIDRs) wider than WIDEST_PROXY_PREFIX. */
export function tooWideProxyRanges(entries: readonly string[]): string[] {
  return entries.filter((entry) => {
    const [address = '', bits] = entry.split('/');
    if (bits === undefined) return false;
    const prefix = Number(bits);
    if (isIP(address) === 4) return prefix < WIDEST_PROXY_PREFIX.ipv4;
    // ::ffff:0:0/96 is all of IPv4 in IPv6 clothing.
    if (IPV4_MAPPED.test(address)) return prefix < 96 + WIDEST_PROXY_PREFIX.ipv4;
    return prefix < WIDEST_PROXY_PREFIX.ipv6;
  });
}

/**
 * The config problem for `listName` when it holds too wide a range and `overrideName` is not set,
 * for an app's superRefine; undefined when the list is fine. `rangesOf` expands a named entry (the
 * api's `uniquelocal`…) into the ranges it stands for.
 */
export function wideProxyRangeProblem(
  entries: readonly string[],
  listName: string,
  overrideName: string,
  allowed: boolean,
  rangesOf: (entry: string) => readonly string[] = (entry) => [entry],
): string | undefined {
  const wide = entries.filter((entry) => tooWideProxyRanges(rangesOf(entry)).length > 0);
  if (wide.length === 0 || allowed) return undefined;
  return (
    `${wide.join(', ')} ${wide.length === 1 ? 'is' : 'are'} wider than ` +
    `/${WIDEST_PROXY_PREFIX.ipv4} (IPv4) or /${WIDEST_PROXY_PREFIX.ipv6} (IPv6): every client in it ` +
    `could name its own address; list your proxies' addresses, or set ${overrideName}=true to ` +
    `trust ${listName} as it is`
  );
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?))(?::(\d{1,5}))?$/;

/** `host` or `host:port` as a client would dial it (an IPv6 host in brackets), as in RELAY_SERVERS and RELAY_PUBLIC_ADDR. */
export function isHostWithOptionalPort(value: string): boolean {
  const match = HOST_PORT.exec(value);
  if (!match) return false;
  const [, ipv6, , portText] = match;
  if (ipv6 !== undefined && isIP(ipv6) !== 6) return false;
  return portText === undefined || (Number(portText) >= 1 && Number(portText) <= 65535);
}

/** A web origin as a browser sends it (`https://console.example.com`, `http://host:8080`), as in WS_ALLOWED_ORIGINS. */
export const webOrigin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    const webScheme = url.protocol === 'http:' || url.protocol === 'https:';
    return webScheme && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
  } catch {
    return false;
  }
}, 'must be an origin: scheme://host[:port], no path');

/**
 * Where a service's ops endpoints (/healthz, /readyz with detail, /metrics) listen (`METRICS_HOST`):
 * loopback by default, since they answer without authentication. Set it to reach them from
 * elsewhere (a Prometheus on another host, a kubelet probing the pod IP) and firewall the port.
 */
export const metricsHost = z
  .string()
  .refine((value) => isIP(value) !== 0, 'must be an IP address (0.0.0.0 or :: listens everywhere)')
  .default('127.0.0.1');
