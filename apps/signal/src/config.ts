import { isIP } from 'node:net';

import {
  flag,
  ipOrCidr,
  isHostWithOptionalPort,
  ipv6PrefixLength,
  list,
  metricsHost,
  optionalPort,
  port,
  positiveInteger,
  positiveNumber,
  sharedFields,
  webOrigin,
  wideProxyRangeProblem,
  z,
  type DeepReadonly,
} from '@switchboard/config';
import { isUsableKeyOption } from '@switchboard/crypto';
import { eventKeyField, REGISTRATION_POLICIES, type RegistrationPolicy } from '@switchboard/events';
import { relayRecordKeyField } from '@switchboard/relay-registry';
import { effectiveListenerMode, listenerTlsMode, tlsFields, tlsSettingsProblems } from '@switchboard/tls';

// The rendezvous server's settings (docs/architecture.md "Configuration contract"). Ports follow hbbs:
// the NAT-test port defaults to SIGNAL_PORT−1 and the WebSocket port to SIGNAL_PORT+2.

// One list for signal and the api's settings validation (libs/events settings.ts).
export { REGISTRATION_POLICIES, type RegistrationPolicy };

const ipAddress = z.string().refine((value) => isIP(value) !== 0, 'must be an IP address');

const relayServer = z.string().refine(isHostWithOptionalPort, 'must be host or host:port');

const keyValue = z
  .string()
  .refine(isUsableKeyOption, 'looks like a 64-byte secret key but its public half does not match its seed');

/**
 * The api's base URL for tunnelled client requests: http(s), no credentials (they would be logged and
 * sent on every request), no path, query or fragment (the client's path is appended as it came).
 */
const apiUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (
        (url.protocol === 'http:' || url.protocol === 'https:') &&
        url.username === '' &&
        url.password === '' &&
        url.pathname === '/' &&
        url.search === '' &&
        url.hash === ''
      );
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL with no path, credentials, query or fragment')
  .default('http://127.0.0.1:21114');

/**
 * The client gives a tunnelled request 18 s + 18 s in all (hbb_common CONNECT_TIMEOUT + READ_TIMEOUT),
 * a direct call 12 s (src/common.rs); the api taking longer than the latter is a fault anyway.
 */
const MAX_API_PROXY_TIMEOUT_MS = 12_000;
const MAX_API_PROXY_RESPONSE_BYTES = 16 * 1024 * 1024;

const fields = z.object({
  ...sharedFields,
  SIGNAL_PORT: port(21116),
  SIGNAL_NAT_PORT: optionalPort(),
  SIGNAL_WS_PORT: optionalPort(),
  ...tlsFields,
  /**
   * TLS on the TCP rendezvous port and the NAT-test port (UDP stays plain): off, dual (the first
   * byte decides, so stock clients keep working) or on. Unset: dual with a certificate, else off.
   */
  SIGNAL_TLS: listenerTlsMode(),
  /** TLS on the WebSocket port: dual serves ws:// and wss:// on the same port. Default as SIGNAL_TLS. */
  SIGNAL_WS_TLS: listenerTlsMode(),
  /**
   * SIGNAL_TLS=dual on 21116: a client silent this long after connecting is served plain. The stock
   * client waits for the server's KeyExchange, so it sees this delay; a TLS client whose ClientHello
   * comes later than this (a very loaded client machine) fails and retries.
   */
  SIGNAL_TLS_PLAIN_AFTER_MS: positiveInteger(200),
  METRICS_PORT: port(9116),
  /** The ops endpoints answer without authentication: loopback unless set (libs/config metricsHost). */
  METRICS_HOST: metricsHost,
  /** `::` listens on IPv6 and IPv4 at once. */
  BIND_HOST: ipAddress.default('0.0.0.0'),
  KEY_DIR: z.string().default('./var/keys'),
  /**
   * hbbs's `-k` (resolveKeyOption): `-` or `_` (default) sign with KEY_DIR's key files and accept only
   * their public key as licence; the base64 of a 64-byte secret key, likewise without key files;
   * any other text is the licence key itself and nothing is signed; `none` is hbbs's empty `-k`: no
   * licence check, still signing with KEY_DIR's key files. A blank value counts as unset (so `-`),
   * never as "no check": turning the check off takes the explicit word.
   */
  KEY: keyValue.default('-'),
  REGISTRATION_POLICY: z
    .enum(REGISTRATION_POLICIES, { error: `must be one of ${REGISTRATION_POLICIES.join(', ')}` })
    .default('open'),
  /**
   * Proxies in front of the WebSocket port: a client's address is the right-most X-Forwarded-For hop
   * that is not one of them. Ranges wider than /8 (IPv4) or /32 (IPv6) need TRUSTED_PROXIES_ALLOW_WIDE.
   */
  TRUSTED_PROXIES: list(ipOrCidr),
  TRUSTED_PROXIES_ALLOW_WIDE: flag(false),
  /** Believe X-Real-IP from those proxies before X-Forwarded-For: only if every one of them overwrites it. */
  TRUST_X_REAL_IP: flag(false),
  /** Browser origins allowed to open the WebSocket port; empty allows any (native clients send none). */
  WS_ALLOWED_ORIGINS: list(webOrigin),
  /** Per-IP limits count an IPv6 client by this prefix (libs/transport rateLimitKey). */
  RATE_LIMIT_IPV6_PREFIX: ipv6PrefixLength,
  /** TCP and WebSocket connections open at once, all clients together: beyond it new ones are dropped at accept. */
  SIGNAL_MAX_CONNECTIONS: positiveInteger(20_000),
  /** Static relay list, used when no relay node is registered in Redis. */
  RELAY_SERVERS: list(relayServer),
  /**
   * The api's event verify key (base64): events not signed by the api are dropped. Unset: read from
   * EVENTS_PUBLIC_KEY_FILE (default `${KEY_DIR}/events_ed25519.pub`, written by the api's bootstrap).
   */
  EVENTS_PUBLIC_KEY: eventKeyField.optional(),
  EVENTS_PUBLIC_KEY_FILE: z.string().min(1).optional(),
  /**
   * Shared with the relays (base64, ≥ 32 bytes): relay node records without its MAC are never handed
   * to clients. Unset: read from RELAY_REGISTRY_KEY_FILE (default `${KEY_DIR}/relay_registry.key`,
   * created by the api's bootstrap).
   */
  RELAY_REGISTRY_KEY: relayRecordKeyField.optional(),
  RELAY_REGISTRY_KEY_FILE: z.string().min(1).optional(),
  SHUTDOWN_TIMEOUT_SECONDS: positiveNumber(10),
  /** Peer records held in memory at most; at the cap offline peers make room (peer-map.ts). */
  MAX_PEERS: positiveInteger(1_500_000),
  /**
   * Devices never seen before that may register over UDP per minute, all sources together (UDP
   * sources can be forged). TCP/WS registrations and known devices are not counted.
   */
  UDP_NEW_DEVICES_PER_MINUTE: positiveInteger(600),
  /** Relay tickets (brokered relay sessions) one requester network may be issued per minute. */
  RELAY_TICKETS_PER_IP_PER_MINUTE: positiveInteger(60),
  /** Relay tickets naming one target device per minute. */
  RELAY_TICKETS_PER_ID_PER_MINUTE: positiveInteger(30),
  /**
   * B's RelayResponse must come from the network B registered from (IPv4 address, IPv6 prefix).
   * Turn off only if devices reach signal's TCP port from another address than they register from.
   */
  RELAY_TICKET_IP_CHECK: flag(true),
  /**
   * Forward the client's tunnelled API calls (HttpProxyRequest on secure TCP, docs/client-api.md §10)
   * to API_URL. The api must list signal's address in TRUST_PROXY to learn the client's address.
   */
  API_PROXY_ENABLED: flag(true),
  API_URL: apiUrl,
  /** One tunnelled request, connect to last byte; at most 12 s, the client's own timeout for a direct call. */
  API_PROXY_TIMEOUT_MS: positiveInteger(10_000).refine(
    (value) => value <= MAX_API_PROXY_TIMEOUT_MS,
    `must be at most ${MAX_API_PROXY_TIMEOUT_MS}: the client stops waiting soon after`,
  ),
  /** Largest api answer passed back; a bigger one is answered 502. At most 16 MiB. */
  API_PROXY_MAX_RESPONSE_BYTES: positiveInteger(1024 * 1024).refine(
    (value) => value <= MAX_API_PROXY_RESPONSE_BYTES,
    `must be at most ${MAX_API_PROXY_RESPONSE_BYTES}`,
  ),
  /** Tunnelled requests in flight at once, all clients together; beyond it the answer is 503. */
  API_PROXY_MAX_IN_FLIGHT: positiveInteger(64),
});

export const signalConfigSchema = fields
  .transform((config) => ({
    ...config,
    SIGNAL_NAT_PORT: config.SIGNAL_NAT_PORT ?? config.SIGNAL_PORT - 1,
    SIGNAL_WS_PORT: config.SIGNAL_WS_PORT ?? config.SIGNAL_PORT + 2,
    // The mode each listener runs in, so nothing downstream repeats the "unset" rule.
    SIGNAL_TLS: effectiveListenerMode(config.SIGNAL_TLS, config),
    SIGNAL_WS_TLS: effectiveListenerMode(config.SIGNAL_WS_TLS, config),
  }))
  .superRefine((config, context) => {
    const tlsProblems = tlsSettingsProblems(config, {
      SIGNAL_TLS: config.SIGNAL_TLS,
      SIGNAL_WS_TLS: config.SIGNAL_WS_TLS,
    });
    for (const { path, message } of tlsProblems) context.addIssue({ code: 'custom', path: [path], message });
    const derived = [
      ['SIGNAL_NAT_PORT', config.SIGNAL_NAT_PORT, 'SIGNAL_PORT−1'],
      ['SIGNAL_WS_PORT', config.SIGNAL_WS_PORT, 'SIGNAL_PORT+2'],
    ] as const;
    for (const [name, value, rule] of derived) {
      if (value < 1 || value > 65535) {
        context.addIssue({
          code: 'custom',
          path: [name],
          message: `defaults to ${rule} = ${value}, which is not a port; set ${name}`,
        });
      }
    }
    const wideProxies = wideProxyRangeProblem(
      config.TRUSTED_PROXIES,
      'TRUSTED_PROXIES',
      'TRUSTED_PROXIES_ALLOW_WIDE',
      config.TRUSTED_PROXIES_ALLOW_WIDE,
    );
    if (wideProxies) context.addIssue({ code: 'custom', path: ['TRUSTED_PROXIES'], message: wideProxies });
    // All four are TCP listeners on the same host, so they must not collide.
    const tcpPorts = ['SIGNAL_PORT', 'SIGNAL_NAT_PORT', 'SIGNAL_WS_PORT', 'METRICS_PORT'] as const;
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
  });

export type SignalConfig = DeepReadonly<z.output<typeof signalConfigSchema>>;
