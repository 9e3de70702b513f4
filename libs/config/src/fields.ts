import { isIP } from 'node:net';

import { z } from 'zod';

// Reusable field schemas for the configuration contract in ARCHITECTURE.md. Environment values are
// strings, so every field parses a string; defaults let the whole system start on one machine.

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

/** Fields every service shares (ARCHITECTURE.md, configuration contract). */
export const sharedFields = {
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: redisKeyPrefix,
  LOG_LEVEL: logLevel,
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
 * Where a service's ops endpoints (/healthz, /readyz with detail, /metrics) listen (`METRICS_HOST`):
 * loopback by default, since they answer without authentication. Set it to reach them from
 * elsewhere (a Prometheus on another host, a kubelet probing the pod IP) and firewall the port.
 */
export const metricsHost = z
  .string()
  .refine((value) => isIP(value) !== 0, 'must be an IP address (0.0.0.0 or :: listens everywhere)')
  .default('127.0.0.1');
