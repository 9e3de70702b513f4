import { hostname } from 'node:os';
import { isIP } from 'node:net';

import {
  flag,
  ipOrCidr,
  isHostWithOptionalPort,
  ipv6PrefixLength,
  list,
  logFormat,
  logLevel,
  metricsHost,
  optionalPort,
  port,
  positiveInteger,
  positiveNumber,
  redisKeyPrefix,
  redisUrl,
  webOrigin,
  wideProxyRangeProblem,
  z,
  type DeepReadonly,
} from '@switchboard/config';
import { isUsableKeyOption } from '@switchboard/crypto';
import { eventKeyField } from '@switchboard/events';
import { NODE_ID_PATTERN, relayRecordKeyField } from '@switchboard/relay-registry';
import { listenerTlsMode, tlsFields, tlsSettingsProblems } from '@switchboard/tls';

// The relay's settings (docs/architecture.md "Configuration contract"). Deliberately no DATABASE_URL:
// the relay holds no database credentials and learns everything it needs through Redis.

const ipAddress = z.string().refine((value) => isIP(value) !== 0, 'must be an IP address');

const publicAddress = z
  .string()
  .refine(isHostWithOptionalPort, 'must be host or host:port, as clients will dial it');

const keyValue = z
  .string()
  .refine(isUsableKeyOption, 'looks like a 64-byte secret key but its public half does not match its seed');

/** Mbit/s in hbbr's sense (1024² bits per second). */
const mbitPerSecond = positiveNumber;

const fields = z.object({
  REDIS_URL: redisUrl,
  LOG_LEVEL: logLevel,
  LOG_FORMAT: logFormat,
  RELAY_PORT: port(21117),
  RELAY_WS_PORT: optionalPort(),
  METRICS_PORT: port(9117),
  /** The ops endpoints answer without authentication: loopback unless set (libs/config metricsHost). */
  METRICS_HOST: metricsHost,
  /** `::` listens on IPv6 and IPv4 at once. */
  BIND_HOST: ipAddress.default('0.0.0.0'),
  /** What signal tells clients to dial for this node. */
  RELAY_PUBLIC_ADDR: publicAddress.default('127.0.0.1:21117'),
  /** This node's name in the Redis node registry; defaults to hostname:RELAY_PORT. */
  RELAY_NODE_ID: z
    .string()
    .regex(NODE_ID_PATTERN, 'must be 1-128 letters, digits, ".", "_", ":" or "-"')
    .optional(),
  /**
   * hbbr's `-k`. Unset: signal's public key from KEY_DIR/id_ed25519.pub when that file exists (the
   * licence check is then on, and tickets are verified with it), else no check. `-` requires that
   * file; `none` turns the licence check off; any other value is hbbr's (relay-key.ts).
   */
  KEY: keyValue.optional(),
  KEY_DIR: z.string().default('./var/keys'),
  /**
   * The api's event verify key (base64): events not signed by the api are dropped. Unset: read from
   * EVENTS_PUBLIC_KEY_FILE (default `${KEY_DIR}/events_ed25519.pub`, written by the api's bootstrap).
   */
  EVENTS_PUBLIC_KEY: eventKeyField.optional(),
  EVENTS_PUBLIC_KEY_FILE: z.string().min(1).optional(),
  /**
   * Shared with signal (base64, ≥ 32 bytes): MACs this node's registry record, which signal ignores
   * without it. Unset: read from RELAY_REGISTRY_KEY_FILE (default `${KEY_DIR}/relay_registry.key`).
   */
  RELAY_REGISTRY_KEY: relayRecordKeyField.optional(),
  RELAY_REGISTRY_KEY_FILE: z.string().min(1).optional(),
  TOTAL_BANDWIDTH: mbitPerSecond(1024),
  SINGLE_BANDWIDTH: mbitPerSecond(128),
  LIMIT_SPEED: mbitPerSecond(32),
  /**
   * Accept only uuids signal brokered: a ticket signed with signal's key (so KEY or KEY_DIR must
   * give the relay signal's public key), naming this node, from the addresses signal saw.
   */
  RELAY_STRICT: flag(true),
  /**
   * Strict mode: each end must connect from the network signal saw it on (IPv4 address, IPv6
   * RATE_LIMIT_IPV6_PREFIX). Turn off if clients reach signal and relays by different address
   * families or NAT egresses.
   */
  RELAY_TICKET_IP_CHECK: flag(true),
  /** Other host[:port] names clients may dial for this node (their own `relay-server` option). */
  RELAY_ALIASES: list(publicAddress),
  /** IPv6 clients count as one per this prefix (per-IP limits, the ticket IP check). */
  RATE_LIMIT_IPV6_PREFIX: ipv6PrefixLength,
  /** On SIGTERM, how long live sessions may run on before they are cut. */
  DRAIN_TIMEOUT_SECONDS: positiveNumber(25),
  /**
   * On SIGTERM the node leaves the registry at once but accepts new connections this much longer
   * (within DRAIN_TIMEOUT_SECONDS): signal refreshes its view of the relays every second, so a
   * session it brokered just before must still find the node (a rolling restart fails none).
   */
  RELAY_LEAVE_GRACE_SECONDS: z.coerce
    .number({ error: 'must be a number' })
    .min(0, 'must be 0 or more')
    .default(2),
  /** Events on `<prefix>:events`; registry, tickets and access lists under `<prefix>:relay`. */
  REDIS_KEY_PREFIX: redisKeyPrefix,
  /** Sessions this node is sized for, as announced to signal's picker (load = sessions / capacity). */
  RELAY_CAPACITY: positiveInteger(2000),
  /** hbbr: the first frame (RequestRelay) must arrive this soon after the accept. */
  RELAY_FIRST_FRAME_TIMEOUT_SECONDS: positiveNumber(30),
  /** hbbr: a connection waiting for its partner is closed after this long. */
  RELAY_UNPAIRED_TIMEOUT_SECONDS: positiveNumber(30),
  /** Strict mode: a uuid whose ticket is not in Redis yet is looked up again for this long. */
  RELAY_TICKET_WAIT_SECONDS: positiveNumber(3),
  /** hbbr: a pair is closed when neither side has sent anything for this long. */
  RELAY_IDLE_TIMEOUT_SECONDS: positiveNumber(30),
  /** Open connections one IP (an IPv6 client: its RATE_LIMIT_IPV6_PREFIX network) may hold at once. */
  RELAY_MAX_CONNECTIONS_PER_IP: positiveInteger(256),
  /** Open connections of all clients together; beyond it new ones are dropped at accept. */
  RELAY_MAX_CONNECTIONS: positiveInteger(10_000),
  /**
   * Proxies in front of the WebSocket port (21119): the client's address there, what the blocklist,
   * blacklist and per-IP cap apply to, is the right-most X-Forwarded-For hop that is not one of them.
   * Ranges wider than /8 (IPv4) or /32 (IPv6) need TRUSTED_PROXIES_ALLOW_WIDE.
   */
  TRUSTED_PROXIES: list(ipOrCidr),
  TRUSTED_PROXIES_ALLOW_WIDE: flag(false),
  /** Believe X-Real-IP from those proxies before X-Forwarded-For: only if every one of them overwrites it. */
  TRUST_X_REAL_IP: flag(false),
  /** Browser origins allowed to open the WebSocket port; empty allows any (native clients send none). */
  WS_ALLOWED_ORIGINS: list(webOrigin),
  /** Where blocklist.txt and blacklist.txt are read (hbbr reads its working directory). */
  RELAY_LISTS_DIR: z.string().default('.'),
  /** How often those files are checked for edits while running (an added blocklist IP is cut at once). */
  RELAY_LISTS_RELOAD_SECONDS: positiveNumber(5),
  /** hbbr: a session older than DOWNGRADE_START_CHECK seconds averaging above this × SINGLE_BANDWIDTH drops to LIMIT_SPEED. */
  DOWNGRADE_THRESHOLD: positiveNumber(0.66),
  DOWNGRADE_START_CHECK: positiveNumber(1800),
  ...tlsFields,
  /**
   * TCP 21117: off (plain only, as hbbr), dual (a first byte of 0x16 starts TLS, anything else is a
   * stock client) or on (TLS only). Unset: dual when TLS_CERT_FILE is set, else off.
   */
  RELAY_TLS: listenerTlsMode(),
  /** WebSocket 21119, the same way: dual serves ws:// and wss:// on the one port. */
  RELAY_WS_TLS: listenerTlsMode(),
});

export const relayConfigSchema = fields
  .transform((config) => ({
    ...config,
    RELAY_WS_PORT: config.RELAY_WS_PORT ?? config.RELAY_PORT + 2,
    RELAY_NODE_ID: config.RELAY_NODE_ID ?? `${hostname()}:${config.RELAY_PORT}`,
  }))
  .superRefine((config, context) => {
    if (config.RELAY_WS_PORT > 65535) {
      context.addIssue({
        code: 'custom',
        path: ['RELAY_WS_PORT'],
        message: `defaults to RELAY_PORT+2 = ${config.RELAY_WS_PORT}, which is not a port; set RELAY_WS_PORT`,
      });
    }
    const tcpPorts = ['RELAY_PORT', 'RELAY_WS_PORT', 'METRICS_PORT'] as const;
    tcpPorts.forEach((name, index) => {
      const clash = tcpPorts.slice(0, index).find((earlier) => config[earlier] === config[name]);
      if (clash) {
        context.addIssue({
          code: 'custom',
          path: [name],
          message: `must differ from ${clash}`,
        });
      }
    });
    const wideProxies = wideProxyRangeProblem(
      config.TRUSTED_PROXIES,
      'TRUSTED_PROXIES',
      'TRUSTED_PROXIES_ALLOW_WIDE',
      config.TRUSTED_PROXIES_ALLOW_WIDE,
    );
    if (wideProxies) context.addIssue({ code: 'custom', path: ['TRUSTED_PROXIES'], message: wideProxies });
    for (const problem of tlsSettingsProblems(config, {
      RELAY_TLS: config.RELAY_TLS,
      RELAY_WS_TLS: config.RELAY_WS_TLS,
    })) {
      context.addIssue({ code: 'custom', path: [problem.path], message: problem.message });
    }
    if (config.SINGLE_BANDWIDTH > config.TOTAL_BANDWIDTH) {
      context.addIssue({
        code: 'custom',
        path: ['SINGLE_BANDWIDTH'],
        message: `must not exceed TOTAL_BANDWIDTH (${config.TOTAL_BANDWIDTH})`,
      });
    }
  });

export type RelayConfig = DeepReadonly<z.output<typeof relayConfigSchema>>;

/**
 * The names clients dial this node by, for the certificate check's warning about names it does not
 * cover: RELAY_PUBLIC_ADDR's host (what signal hands out) and TLS_PUBLIC_HOSTS.
 */
export function relayPublicHosts(config: RelayConfig): string[] {
  return [hostOf(config.RELAY_PUBLIC_ADDR), ...config.TLS_PUBLIC_HOSTS];
}

/** `host`, `host:port`, `[v6]` or `[v6]:port` → the host, without brackets. */
function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed?.[1] !== undefined) return bracketed[1];
  if (isIP(address) === 6) return address;
  return address.replace(/:\d+$/, '');
}
