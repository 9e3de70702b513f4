import { type HeaderEntry, type HttpProxyRequest } from '@switchboard/protocol';

// What signal agrees to forward of a tunnelled HttpProxyRequest (docs/client-api.md §10). The client
// sends the method, path+query, headers and body of a call it would have made to the api directly
// (rustdesk src/common.rs tcp_proxy_request). Only client-API paths pass: signal must not become a
// way into the operator API or anywhere else. Pure: no I/O.

/** Methods the client's Rust and Flutter HTTP calls use; anything else (CONNECT, TRACE) is refused. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Request headers never forwarded: hop-by-hop ones (RFC 9110 §7.6.1), the ones fetch computes itself
 * (Host, Content-Length), and every header that claims a client address: the api learns it from
 * signal's own X-Forwarded-For, which it believes only from signal's address (docs/architecture.md).
 */
const DROPPED_REQUEST_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
  'content-length',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
]);

/** Response headers the client has no use for, or that describe the hop from the api to signal. */
export const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'trailer',
  'upgrade',
  'content-length',
  'content-encoding',
  'set-cookie',
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const HEADER_VALUE = /^[^\x00-\x08\x0a-\x1f\x7f]*$/;
/** Path characters left after refusing encodings of `/`, `\` and `.` (the traversal tricks). */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const UNSAFE_PATH = /[\x00-\x20\x7f\\#]|%(2f|5c|2e|00)/i;

export interface ProxyRequestLimits {
  readonly maxBodyBytes: number;
  readonly maxPathLength: number;
  readonly maxHeaders: number;
  readonly maxHeaderBytes: number;
}

/**
 * A request must fit one frame (limits.maxFrameBytes, 64 KiB): a bigger one closes the connection
 * before signal reads it. The client's bodies are a few KiB at most (sysinfo, audit records).
 */
export const DEFAULT_PROXY_REQUEST_LIMITS: ProxyRequestLimits = {
  maxBodyBytes: 60 * 1024,
  maxPathLength: 2048,
  maxHeaders: 64,
  maxHeaderBytes: 16 * 1024,
};

export interface ForwardPlan {
  readonly method: string;
  /** Normalised path and query, under `/api/` and not the operator API. */
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer | undefined;
}

/** Why a request was not forwarded, with the status the client gets. */
export type ProxyRefusal =
  | { readonly kind: 'bad-method'; readonly status: 405 }
  | { readonly kind: 'bad-path'; readonly status: 403 }
  | { readonly kind: 'bad-header'; readonly status: 400 }
  | { readonly kind: 'body-too-large'; readonly status: 413 };

export function planForward(
  request: HttpProxyRequest,
  limits: ProxyRequestLimits,
): ForwardPlan | ProxyRefusal {
  const method = request.method.toUpperCase();
  if (!METHODS.has(method)) return { kind: 'bad-method', status: 405 };
  const path = clientApiPath(request.path, limits.maxPathLength);
  if (path === undefined) return { kind: 'bad-path', status: 403 };
  if (request.body.length > limits.maxBodyBytes) return { kind: 'body-too-large', status: 413 };
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const headers = forwardedHeaders(request.headers, limits, hasBody);
  if (headers === undefined) return { kind: 'bad-header', status: 400 };
  return { method, path, headers, body: hasBody ? request.body : undefined };
}

/**
 * `raw` if it is an origin-form path under `/api/` that the api serves to clients, else undefined.
 * Anything a URL parser would rewrite (dot segments, `//`, a scheme or host) is refused rather than
 * rewritten: the api must see exactly the path signal checked. `/api/v1` (the operator API) and
 * `/api/docs` are never client paths (apps/api client-api-paths.ts draws the same line).
 */
export function clientApiPath(raw: string, maxLength: number): string | undefined {
  if (raw.length === 0 || raw.length > maxLength || !raw.startsWith('/api/')) return undefined;
  if (UNSAFE_PATH.test(raw)) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw, 'http://api.invalid');
  } catch {
    return undefined;
  }
  if (parsed.host !== 'api.invalid' || `${parsed.pathname}${parsed.search}` !== raw) return undefined;
  const segments = parsed.pathname.split('/');
  if (
    segments.some((segment, index) => index > 0 && (segment === '' || segment === '.' || segment === '..'))
  ) {
    return undefined;
  }
  const area = segments[2]?.toLowerCase();
  if (area === 'v1' || area === 'docs') return undefined;
  return raw;
}

function forwardedHeaders(
  entries: readonly HeaderEntry[],
  limits: ProxyRequestLimits,
  hasBody: boolean,
): (readonly [string, string])[] | undefined {
  if (entries.length > limits.maxHeaders) return undefined;
  let bytes = 0;
  const out: (readonly [string, string])[] = [];
  let hasContentType = false;
  for (const { name, value } of entries) {
    bytes += name.length + value.length;
    if (bytes > limits.maxHeaderBytes || !TOKEN.test(name) || !HEADER_VALUE.test(value)) return undefined;
    const lower = name.toLowerCase();
    if (DROPPED_REQUEST_HEADERS.has(lower) || lower.startsWith('proxy-')) continue;
    if (lower === 'content-type') hasContentType = true;
    out.push([lower, value]);
  }
  // A body without a type is JSON: the client's Rust POSTs default to it (src/common.rs
  // parse_simple_header) and the api reads client bodies so (docs/client-api.md §1.3).
  if (hasBody && !hasContentType) out.push(['content-type', 'application/json']);
  return out;
}
