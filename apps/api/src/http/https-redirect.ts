import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';

import { type Logger } from '@switchboard/observability';

// API_HTTP_REDIRECT_PORT: the only plain-http listener once the api speaks HTTPS. It answers every
// request with a 308 and reads nothing but the request line and headers, so it holds no session,
// parses no body and cannot serve the console over plain http by mistake.

const MAX_HEADER_BYTES = 8 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const HTTPS_DEFAULT_PORT = 443;
// RFC 1123 host names; IP literals are checked with isIP.
const HOST_NAME =
  /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

export interface RedirectTarget {
  /** PUBLIC_URL: where every request is sent, whatever Host the client claims. */
  readonly publicUrl: string | undefined;
  /** API_PORT, used with the request's own host name when there is no PUBLIC_URL. */
  readonly httpsPort: number;
}

/**
 * Where a plain-http request goes: PUBLIC_URL's origin when set (a Host header is the client's to
 * choose, and an open redirect to it would lend our name to a phishing link), else the request's
 * host name, checked to be one, on API_PORT. Undefined for a Host that is not a host name.
 */
export function httpsLocation(
  request: Pick<IncomingMessage, 'url' | 'headers'>,
  target: RedirectTarget,
): string | undefined {
  // Origin-form only: `OPTIONS *` and absolute-form (proxy) requests go to the root.
  const url = request.url ?? '/';
  const path = url.startsWith('/') ? url : '/';
  if (target.publicUrl !== undefined) return `${new URL(target.publicUrl).origin}${path}`;
  const hostname = hostNameOf(request.headers.host);
  if (hostname === undefined) return undefined;
  const port = target.httpsPort === HTTPS_DEFAULT_PORT ? '' : `:${target.httpsPort}`;
  return `https://${hostname}${port}${path}`;
}

/** The name part of a Host header (`name`, `name:port`, `[v6]:port`) if it is a host name or an IP. */
function hostNameOf(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/i.exec(host);
  if (bracketed) return isIP(bracketed[1] ?? '') === 6 ? `[${bracketed[1]}]` : undefined;
  const [name = '', port, ...rest] = host.split(':');
  if (rest.length > 0 || (port !== undefined && !/^\d{1,5}$/.test(port))) return undefined;
  if (isIP(name) === 4 || HOST_NAME.test(name)) return name.toLowerCase();
  return undefined;
}

export interface HttpsRedirectOptions extends RedirectTarget {
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
}

export interface HttpsRedirectListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpsRedirect(options: HttpsRedirectOptions): Promise<HttpsRedirectListener> {
  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: REQUEST_TIMEOUT_MS,
    },
    (request: IncomingMessage, response: ServerResponse) => {
      const location = httpsLocation(request, options);
      // Connection: close, so an unread body is never taken for the next request.
      if (location === undefined) {
        response.writeHead(400, { 'content-type': 'text/plain', connection: 'close' });
        response.end('Bad Request: the Host header is not a host name\n');
        return;
      }
      response.writeHead(308, { location, 'content-length': '0', connection: 'close' });
      response.end();
    },
  );
  // Node answers malformed or oversized requests itself (400/431) and closes them; a reset just closes.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => options.logger.error({ err: error }, 'https redirect listener failed'));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
