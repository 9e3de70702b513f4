import { list, positiveNumber, z } from '@switchboard/config';

// The TLS part of every service's configuration contract (docs/tls.md). Each service reads its own
// TLS_CERT_FILE / TLS_KEY_FILE and a mode per listener; the names of the mode variables are the
// service's (SIGNAL_TLS, RELAY_WS_TLS, API_TLS…), their values and defaults are defined here.

/**
 * How a stream listener treats TLS. `off`: plain only, as hbbs/hbbr. `on`: TLS only. `dual`: the
 * first byte decides (0x16, a TLS handshake record, or anything else), so stock RustDesk clients
 * and TLS clients share the port.
 */
export const LISTENER_TLS_MODES = ['off', 'dual', 'on'] as const;
export type ListenerTlsMode = (typeof LISTENER_TLS_MODES)[number];

/** The api speaks HTTP, which cannot share a port with HTTPS cleanly: off or on. */
export const API_TLS_MODES = ['off', 'on'] as const;
export type ApiTlsMode = (typeof API_TLS_MODES)[number];

/** A listener mode variable; unset means "dual when a certificate is configured, else off". */
export function listenerTlsMode() {
  return z.enum(LISTENER_TLS_MODES, { error: `must be one of ${LISTENER_TLS_MODES.join(', ')}` }).optional();
}

export function apiTlsMode() {
  return z.enum(API_TLS_MODES, { error: `must be one of ${API_TLS_MODES.join(', ')}` }).optional();
}

/** Shared by every service: where the certificate and key are, and how often they are re-read. */
export const tlsFields = {
  /** PEM, the server certificate first and then its chain (what a reverse proxy would serve). */
  TLS_CERT_FILE: z.string().min(1).optional(),
  /** PEM private key matching TLS_CERT_FILE; must not be readable by other users (mode 0600 or 0640). */
  TLS_KEY_FILE: z.string().min(1).optional(),
  /** Names or addresses clients dial (comma-separated): a certificate naming none of them is warned of at load. */
  TLS_PUBLIC_HOSTS: list(z.string().min(1)),
  /** How often the two files are checked for a change (rename-over, Kubernetes Secret symlink swap). */
  TLS_RELOAD_SECONDS: positiveNumber(5),
  /** A TLS client must finish its handshake within this long, or it is closed and counted. */
  TLS_HANDSHAKE_TIMEOUT_SECONDS: positiveNumber(10),
  /** Handshakes in progress at once per listener; beyond it new TLS clients are closed at once. */
  TLS_MAX_PENDING_HANDSHAKES: positiveNumber(256),
};

export interface TlsFileSettings {
  readonly TLS_CERT_FILE?: string | undefined;
  readonly TLS_KEY_FILE?: string | undefined;
}

/** The mode a listener runs in: what was asked, or its default given whether a certificate is set. */
export function effectiveListenerMode(
  asked: ListenerTlsMode | undefined,
  settings: TlsFileSettings,
): ListenerTlsMode {
  return asked ?? (hasCertificate(settings) ? 'dual' : 'off');
}

export function effectiveApiMode(asked: ApiTlsMode | undefined, settings: TlsFileSettings): ApiTlsMode {
  return asked ?? (hasCertificate(settings) ? 'on' : 'off');
}

function hasCertificate(settings: TlsFileSettings): boolean {
  return settings.TLS_CERT_FILE !== undefined;
}

/**
 * The problems a service's superRefine reports: the two files come together, and a listener that
 * asks for TLS needs them. `modes` maps each mode variable's name to its raw value.
 */
export function tlsSettingsProblems(
  settings: TlsFileSettings,
  modes: Readonly<Record<string, string | undefined>>,
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const cert = settings.TLS_CERT_FILE !== undefined;
  const key = settings.TLS_KEY_FILE !== undefined;
  if (cert && !key) problems.push({ path: 'TLS_KEY_FILE', message: 'must be set with TLS_CERT_FILE' });
  if (key && !cert) problems.push({ path: 'TLS_CERT_FILE', message: 'must be set with TLS_KEY_FILE' });
  if (!cert) {
    for (const [name, mode] of Object.entries(modes)) {
      if (mode === 'on' || mode === 'dual') {
        problems.push({ path: name, message: `is ${mode}, which needs TLS_CERT_FILE and TLS_KEY_FILE` });
      }
    }
  }
  return problems;
}
