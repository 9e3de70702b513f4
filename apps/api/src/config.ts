import { isIP } from 'node:net';

import { parseAuditKeyring } from '@switchboard/audit';
import { parsePublicKeyFile } from '@switchboard/crypto';
import { eventKeyField } from '@switchboard/events';
import { relayRecordKeyField } from '@switchboard/relay-registry';
import {
  type ApiTlsMode,
  apiTlsMode,
  effectiveApiMode,
  type TlsFileSettings,
  tlsFields,
  tlsSettingsProblems,
} from '@switchboard/tls';
import {
  type DeepReadonly,
  type Environment,
  flag,
  ipv6PrefixLength,
  list,
  loadConfig,
  metricsHost,
  optionalPort,
  port,
  positiveInteger,
  sharedFields,
  webOrigin,
  wideProxyRangeProblem,
  z,
} from '@switchboard/config';

import { DATA_KEY_BYTES, DataKeyringError, parseDataKeyring } from './data-keyring';

// The api's whole configuration contract (docs/architecture.md "Configuration contract"). This is
// the only file of the app that reads process.env; the bootstrap CLI uses a superset of the same
// fields.

export const SECRETS_FILE_NAME = 'api-secrets.json';
export const DATA_ENCRYPTION_KEY_BYTES = DATA_KEY_BYTES;
const MIN_JWT_SECRET_LENGTH = 32;
export const MIN_ADMIN_PASSWORD_LENGTH = 12;
// argon2 hashes whatever it is given; an upper bound keeps a pasted novel from becoming a CPU burner.
export const MAX_PASSWORD_LENGTH = 1024;

// proxy-addr (what Fastify's trustProxy uses) also accepts these names, for these ranges (its index.js).
const PROXY_RANGES: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};
const PROXY_RANGE_NAMES = Object.keys(PROXY_RANGES);

function isProxyAddress(value: string): boolean {
  if (PROXY_RANGE_NAMES.includes(value)) return true;
  const [address = '', bits, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const prefix = Number(bits);
  return /^\d{1,3}$/.test(bits) && prefix <= (family === 4 ? 32 : 128);
}

/**
 * Secrets may come from the environment (production, Kubernetes secrets); any that are absent are read
 * from `${KEY_DIR}/api-secrets.json` (see secrets.ts). The file uses these same names and validators.
 */
export const secretFields = {
  JWT_SECRET: z.string().min(MIN_JWT_SECRET_LENGTH, `must be at least ${MIN_JWT_SECRET_LENGTH} characters`),
  AUDIT_HMAC_KEYS: z.string().superRefine((value, ctx) => {
    try {
      parseAuditKeyring(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  }),
  /** One key, or a keyring `id:key,...` (current last) to rotate it: data-keyring.ts. */
  DATA_ENCRYPTION_KEY: z.string().superRefine((value, ctx) => {
    try {
      parseDataKeyring(value);
    } catch (error) {
      if (!(error instanceof DataKeyringError)) throw error;
      ctx.addIssue({
        code: 'custom',
        message: `must be ${DATA_ENCRYPTION_KEY_BYTES} bytes in base64 (openssl rand -base64 ${DATA_ENCRYPTION_KEY_BYTES}), or id:key pairs of those: ${error.problems.join('; ')}`,
      });
    }
  }),
};

const storageFields = {
  ...sharedFields,
  KEY_DIR: z.string().default('./var/keys'),
  JWT_SECRET: secretFields.JWT_SECRET.optional(),
  AUDIT_HMAC_KEYS: secretFields.AUDIT_HMAC_KEYS.optional(),
  DATA_ENCRYPTION_KEY: secretFields.DATA_ENCRYPTION_KEY.optional(),
  /**
   * Signs every event the api publishes (Ed25519 seed, base64); signal and relays verify with its
   * public half. Unset: `${KEY_DIR}/events_ed25519`, created on first use.
   */
  EVENTS_SIGNING_KEY: eventKeyField.optional(),
  /** Where the bootstrap writes the public half for signal and relays; default `${KEY_DIR}/events_ed25519.pub`. */
  EVENTS_PUBLIC_KEY_FILE: z.string().min(1).optional(),
};

export const apiConfigSchema = z
  .object({
    ...storageFields,
    API_PORT: port(21114),
    API_HOST: z.string().default('0.0.0.0'),
    /**
     * The ops port, apart from the operator API: /healthz, /readyz with per-dependency detail and
     * /metrics, the same ops server signal and relay run. It answers without authentication, so it
     * listens on loopback unless METRICS_HOST says otherwise. API_PORT keeps /healthz and a /readyz
     * that says only ready or not.
     */
    METRICS_PORT: port(9114),
    METRICS_HOST: metricsHost,
    // HTTPS (docs/tls.md): TLS_CERT_FILE/TLS_KEY_FILE and the reload and handshake knobs all services share.
    ...tlsFields,
    /**
     * `on`: API_PORT serves HTTPS only (the console, the API and the live stream as wss). Unset: on
     * when TLS_CERT_FILE is set, else off (plain http, e.g. behind a TLS-terminating proxy).
     */
    API_TLS: apiTlsMode(),
    /**
     * With API_TLS on, a plain-http port that answers every request with a 308 to the HTTPS api
     * (PUBLIC_URL's origin, else the request's host name on API_PORT). Unset: no plain listener.
     */
    API_HTTP_REDIRECT_PORT: optionalPort(),
    /** Where operators reach the api from outside (links in the console, OIDC callbacks later). */
    PUBLIC_URL: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .transform((value) => value.replace(/\/+$/, ''))
      .optional(),
    /**
     * Addresses or CIDRs of reverse proxies whose X-Forwarded-For we believe; empty trusts none. Ranges
     * wider than /8 (IPv4) or /32 (IPv6), `linklocal` and `uniquelocal` included, need TRUST_PROXY_ALLOW_WIDE.
     */
    TRUST_PROXY: list(z.string().refine(isProxyAddress, 'must be an IP address, a CIDR or loopback')),
    TRUST_PROXY_ALLOW_WIDE: flag(false),
    API_BODY_LIMIT_BYTES: positiveInteger(1024 * 1024),
    /**
     * Strict-Transport-Security max-age, sent only on requests that arrived over TLS (directly or via a
     * proxy in TRUST_PROXY that sets X-Forwarded-Proto: https); never on plain http.
     */
    HSTS_MAX_AGE_SECONDS: positiveInteger(365 * 24 * 60 * 60),
    /**
     * Serve the OpenAPI document and Swagger UI at /api/docs. Off by default: they are unauthenticated
     * and map every route (and who may call it) for anyone who can reach the operator port.
     */
    API_DOCS_ENABLED: flag(false),
    /**
     * The web console's built files (index.html and assets/, from `vite build` of apps/web). Unset:
     * dist/apps/web beside the running build. Without an index.html there, `/` explains how to build it.
     */
    CONSOLE_DIR: z.string().min(1).optional(),
    /** After SIGTERM, how long open requests may take before the process gives up and exits 1. */
    SHUTDOWN_TIMEOUT_MS: positiveInteger(10_000),
    /** Lifetime of a bearer access token (JWT); refresh tokens renew it. */
    ACCESS_TOKEN_TTL_SECONDS: positiveInteger(900),
    /**
     * Bound on a state change's transaction, both to get a pooled connection and to finish (Prisma's
     * own 2 s / 5 s would turn a burst of bans into 500s).
     */
    CHANGE_TRANSACTION_TIMEOUT_MS: positiveInteger(15_000),
    /** Per dependency, for /readyz. */
    READINESS_TIMEOUT_MS: positiveInteger(2_000),
    /**
     * An API key's last use (last_used_at/ip and an `api_key.used` audit entry) is recorded at most
     * once per this many seconds: automation calling every second must not write on every request.
     */
    API_KEY_USE_RECORD_INTERVAL_SECONDS: positiveInteger(60),
    /** Rotating refresh tokens of bearer clients; each rotation starts a new lifetime. */
    REFRESH_TOKEN_TTL_SECONDS: positiveInteger(30 * 86_400),
    /** A browser session unused this long is over, whatever its absolute expiry. */
    SESSION_IDLE_TIMEOUT_SECONDS: positiveInteger(8 * 3_600),
    /** Absolute life of a browser session without "remember me" (its cookie dies with the browser too). */
    SESSION_TTL_SECONDS: positiveInteger(12 * 3_600),
    /** Absolute life of a "remember me" session (and its cookie's Max-Age). */
    SESSION_REMEMBER_ME_TTL_SECONDS: positiveInteger(7 * 86_400),
    /**
     * Absolute life of a RustDesk client's login. The client has no refresh: when the token dies it
     * shows the login form again. No idle timeout (a client may go unused for weeks).
     */
    CLIENT_SESSION_TTL_SECONDS: positiveInteger(90 * 86_400),
    /** last_seen_at is written at most this often per session, to keep requests read-only. */
    SESSION_TOUCH_INTERVAL_SECONDS: positiveInteger(60),
    /**
     * Backoff ladder: failures within the window that lock an account (username as typed) for the
     * network they came from, and that put the account as a whole under attack (then only networks
     * that have not failed against it may still try) ...
     */
    LOGIN_ACCOUNT_MAX_FAILURES: positiveInteger(5),
    /** ... or a client IP (higher: many people may share one NAT address). */
    LOGIN_IP_MAX_FAILURES: positiveInteger(20),
    LOGIN_FAILURE_WINDOW_SECONDS: positiveInteger(15 * 60),
    /** Lock lengths; each failure after a lock climbs one rung, the last rung repeats. */
    LOGIN_LOCK_STEPS_SECONDS: z
      .string()
      .default('10,60,300,1800,7200')
      .transform((value) => value.split(',').map((part) => part.trim()))
      .pipe(
        z
          .array(
            z
              .string()
              .regex(/^[1-9]\d*$/, 'must be whole seconds above 0')
              .transform(Number),
          )
          .min(1, 'must list at least one lock length'),
      ),
    /** A ladder with no failure for this long is forgotten (the account's is also reset by a success). */
    LOGIN_LADDER_RESET_SECONDS: positiveInteger(86_400),
    /** `rustdesk --deploy` with an unknown token: failures per client IP within the window before 429. */
    DEPLOY_IP_MAX_FAILURES: positiveInteger(20),
    DEPLOY_FAILURE_WINDOW_SECONDS: positiveInteger(15 * 60),
    /** Whether this replica appends the data plane's queued audit entries (any number of replicas may). */
    AUDIT_QUEUE_WORKER: flag(true),
    /** Queued entries appended at once; they share group commits, so more means fewer transactions. */
    AUDIT_QUEUE_CONCURRENCY: positiveInteger(32),
    /** Live (unrevoked, unexpired) API keys one user may hold: a stolen session cannot mint thousands. */
    API_KEY_MAX_PER_USER: positiveInteger(50),
    /** Expiry of a key created without `expiresAt`: every key ends unless someone chose a date. */
    API_KEY_DEFAULT_TTL_DAYS: positiveInteger(90),
    /** Per-IP limits (deploy throttle, login ladder) count an IPv6 client by this prefix (its /64). */
    RATE_LIMIT_IPV6_PREFIX: ipv6PrefixLength,
    /**
     * How often the audit chain's head is checkpointed outside Postgres (Redis, the log, and
     * AUDIT_CHECKPOINT_FILE when set), so verify can tell a cut or restarted chain from an intact one.
     */
    AUDIT_CHECKPOINT_INTERVAL_SECONDS: positiveInteger(60),
    /**
     * A file on a volume the database's operators cannot write (the api's own data volume) that keeps the
     * latest audit checkpoint; unset keeps it in Redis and the log only.
     */
    AUDIT_CHECKPOINT_FILE: z.string().min(1).optional(),
    /**
     * How often the whole audit chain is verified in the background (one replica per interval, through
     * a Redis lock) and its result exported as switchboard_api_audit_chain_*; 0 turns it off. The
     * first run is one interval after the start.
     */
    AUDIT_VERIFY_INTERVAL_SECONDS: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(0, 'must be 0 (off) or more')
      .max(7 * 86_400, 'must be at most 604800 (a week)')
      .default(900),
    /** Largest settings value, as JSON bytes: settings are small knobs, not a document store. */
    SETTING_VALUE_MAX_BYTES: positiveInteger(16 * 1024),
    /**
     * A device counts as online in the operator API when last seen this recently. Signal is the
     * authority (online = registered within 30 s) but writes last_seen_at coarsened to 60 s, so 90 s
     * is the tightest window that never shows a live device as offline.
     */
    DEVICE_ONLINE_WINDOW_SECONDS: positiveInteger(90),
    /**
     * How long start-up waits for the relay deny set's rebuild from Postgres (and, as long again, the
     * relay IP lists') before serving anyway (the rebuild goes on in the background): a hung database
     * must not keep the api from starting.
     */
    DENY_SET_START_WAIT_MS: positiveInteger(5_000),
    /**
     * Signal's public identity key, to verify the conn_audit_ref a controlled device posts back with
     * its audit records (docs/client-api.md §7): SIGNAL_PUBLIC_KEY (the base64 key clients are given,
     * e.g. from a Kubernetes Secret), else the file SIGNAL_PUBLIC_KEY_FILE (default
     * `${KEY_DIR}/id_ed25519.pub`, the file signal writes). Missing: records are stored without their
     * controlling user, and the file is looked for again every minute.
     */
    SIGNAL_PUBLIC_KEY: z
      .string()
      .trim()
      .refine(isPublicKeyText, 'must be a 32-byte Ed25519 public key in base64 (the key clients are given)')
      .optional(),
    SIGNAL_PUBLIC_KEY_FILE: z.string().min(1).optional(),
    // The console's live event stream, GET /api/v1/live (docs/architecture.md "Console live events").
    /**
     * Origins besides the api's own (PUBLIC_URL's, or loopback without it) allowed to open the live
     * stream, e.g. a console development server. The HTTP API's Origin check is not changed by it.
     */
    LIVE_ORIGINS: list(webOrigin),
    /** Live-stream connections one user may hold on this replica (one per console tab). */
    LIVE_MAX_CONNECTIONS_PER_USER: positiveInteger(8),
    /** Live-stream connections of all users together on this replica. */
    LIVE_MAX_CONNECTIONS: positiveInteger(2_000),
    /** Ping interval; a connection that answered none of the last two pings is dropped. Sessions are re-checked as often. */
    LIVE_HEARTBEAT_INTERVAL_MS: positiveInteger(20_000),
    /** Bytes queued for one slow client before it is dropped (close 1013): memory never grows without bound. */
    LIVE_MAX_BUFFERED_BYTES: positiveInteger(1024 * 1024),
    /** Largest frame a console may send (it has nothing to say): a bigger one closes the connection (1009). */
    LIVE_MAX_INCOMING_BYTES: positiveInteger(1024),
    /** While a console is connected: how often device presence (last_seen_at) is polled from Postgres. */
    LIVE_PRESENCE_POLL_MS: positiveInteger(2_000),
    /** ... the audit chain's newest entries ... */
    LIVE_AUDIT_POLL_MS: positiveInteger(1_000),
    /** ... and the relay node directory in Redis. */
    LIVE_RELAY_POLL_MS: positiveInteger(5_000),
    /** More changes than this from one poll are sent as one summary (`devices.changed` or `resync`). */
    LIVE_MAX_BATCH: positiveInteger(200),
    /**
     * The key signal and the relays MAC relay node records with, so the dashboard lists only records they
     * wrote (the dashboard, Settings and the live stream's `relay.changed`): RELAY_REGISTRY_KEY, else the
     * file the bootstrap creates (RELAY_REGISTRY_KEY_FILE, default `${KEY_DIR}/relay_registry.key`).
     * Missing: the dashboard says relays are unknown and the live stream sends no relay frames.
     */
    RELAY_REGISTRY_KEY: relayRecordKeyField.optional(),
    RELAY_REGISTRY_KEY_FILE: z.string().min(1).optional(),
    /**
     * How often the online-device count is sampled for the dashboard's 24-hour chart (one sample per
     * interval across all api replicas, kept 25 h in Redis).
     */
    DASHBOARD_SAMPLE_INTERVAL_SECONDS: positiveInteger(300).pipe(
      z.number().min(10, 'must be at least 10').max(3600, 'must be at most 3600'),
    ),
  })
  .superRefine((config, context) => {
    if (config.LIVE_MAX_CONNECTIONS_PER_USER > config.LIVE_MAX_CONNECTIONS) {
      context.addIssue({
        code: 'custom',
        path: ['LIVE_MAX_CONNECTIONS_PER_USER'],
        message: 'must not exceed LIVE_MAX_CONNECTIONS',
      });
    }
    const wideProxies = wideProxyRangeProblem(
      config.TRUST_PROXY,
      'TRUST_PROXY',
      'TRUST_PROXY_ALLOW_WIDE',
      config.TRUST_PROXY_ALLOW_WIDE,
      (entry) => PROXY_RANGES[entry] ?? [entry],
    );
    if (wideProxies) context.addIssue({ code: 'custom', path: ['TRUST_PROXY'], message: wideProxies });
    for (const problem of httpsProblems(config)) {
      context.addIssue({ code: 'custom', path: [problem.path], message: problem.message });
    }
  });

interface HttpsSettings extends TlsFileSettings {
  readonly API_TLS?: ApiTlsMode | undefined;
  readonly API_HTTP_REDIRECT_PORT?: number | undefined;
  readonly API_PORT: number;
  readonly METRICS_PORT: number;
  readonly PUBLIC_URL?: string | undefined;
}

/** Whether API_PORT speaks HTTPS: API_TLS, or its default (on when a certificate is configured). */
export function apiServesHttps(config: HttpsSettings): boolean {
  return effectiveApiMode(config.API_TLS, config) === 'on';
}

function httpsProblems(config: HttpsSettings): { path: string; message: string }[] {
  const problems = tlsSettingsProblems(config, { API_TLS: config.API_TLS });
  const https = apiServesHttps(config);
  const redirectPort = config.API_HTTP_REDIRECT_PORT;
  if (redirectPort !== undefined) {
    const clash = [
      ['API_PORT', config.API_PORT],
      ['METRICS_PORT', config.METRICS_PORT],
    ].find(([, taken]) => taken === redirectPort);
    if (clash) problems.push({ path: 'API_HTTP_REDIRECT_PORT', message: `must differ from ${clash[0]}` });
    if (!https) {
      problems.push({
        path: 'API_HTTP_REDIRECT_PORT',
        message: 'redirects to HTTPS, so it needs API_TLS on (and TLS_CERT_FILE/TLS_KEY_FILE)',
      });
    }
  }
  // A refusal, not a warning: browsers would be on https://, so the Origin checks (which compare
  // with PUBLIC_URL's origin) would refuse every sign-in and change from the console.
  if (https && config.PUBLIC_URL?.startsWith('http://')) {
    problems.push({
      path: 'PUBLIC_URL',
      message: 'is http:// but the api serves HTTPS (API_TLS on): use its https:// address',
    });
  }
  return problems;
}

export const bootstrapConfigSchema = z.object({
  ...storageFields,
  /** Set (signal and relays take it from the environment too): the bootstrap creates no key file. */
  RELAY_REGISTRY_KEY: relayRecordKeyField.optional(),
  /** Where the bootstrap creates the key signal and the relays share; default `${KEY_DIR}/relay_registry.key`. */
  RELAY_REGISTRY_KEY_FILE: z.string().min(1).optional(),
  ADMIN_USERNAME: z
    .string()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 of a-z 0-9 . _ - and start with a letter or digit')
    .default('admin'),
  ADMIN_PASSWORD: z
    .string()
    .min(MIN_ADMIN_PASSWORD_LENGTH, `must be at least ${MIN_ADMIN_PASSWORD_LENGTH} characters`)
    .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`)
    .optional(),
});

export type ApiConfig = DeepReadonly<z.output<typeof apiConfigSchema>>;
export type BootstrapConfig = DeepReadonly<z.output<typeof bootstrapConfigSchema>>;

function isPublicKeyText(text: string): boolean {
  try {
    parsePublicKeyFile(text);
    return true;
  } catch {
    return false;
  }
}

/** Exits 78 listing every problem when the environment is invalid. */
export function loadApiConfig(env: Environment = process.env): ApiConfig {
  return loadConfig(apiConfigSchema, env);
}

export function loadBootstrapConfig(env: Environment = process.env): BootstrapConfig {
  return loadConfig(bootstrapConfigSchema, env);
}
