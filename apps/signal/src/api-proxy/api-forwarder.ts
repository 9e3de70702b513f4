import { type HeaderEntry, type HttpProxyRequest, type HttpProxyResponse } from '@switchboard/protocol';

import { DROPPED_RESPONSE_HEADERS, planForward, type ProxyRequestLimits } from './proxy-request';

// Forwards a client's tunnelled HTTP request to the api (docs/client-api.md §10) and turns whatever
// happens into an HttpProxyResponse: the caller only ever writes the answer back. Every failure of
// signal's own (refused, over a limit, api down or slow) also sets `error`, which the client reads
// as "the tunnel failed" rather than as the api's answer (rustdesk src/common.rs
// http_proxy_response_to_json), so its retry rules for transport errors apply.

export interface ApiForwarderOptions extends ProxyRequestLimits {
  /** Base URL of the api, e.g. http://127.0.0.1:21114 (no path). */
  readonly apiUrl: string;
  /** Whole request, connect to last body byte; below the client's own 18 s + 18 s. */
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  /** Forwarded requests in flight at once in this process; beyond it the answer is 503. */
  readonly maxInFlight: number;
  /** Defaults to Node's fetch (undici); tests may pass their own. */
  readonly fetch?: typeof fetch;
}

/** What became of one tunnelled request, for the metric. */
export type ProxyOutcome =
  | 'forwarded'
  | 'bad-method'
  | 'bad-path'
  | 'bad-header'
  | 'body-too-large'
  | 'busy'
  | 'link-busy'
  | 'not-secured'
  | 'not-enabled'
  | 'api-unreachable'
  | 'api-timeout'
  | 'response-too-large';

export interface ProxyResult {
  readonly response: HttpProxyResponse;
  readonly outcome: ProxyOutcome;
}

export function proxyFailure(status: number, error: string, outcome: ProxyOutcome): ProxyResult {
  return {
    outcome,
    response: {
      status,
      headers: [{ name: 'Content-Type', value: 'application/json' }],
      body: Buffer.from(JSON.stringify({ error })),
      error,
    },
  };
}

export class ApiForwarder {
  private inFlight = 0;
  private readonly base: URL;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ApiForwarderOptions) {
    this.base = new URL(options.apiUrl);
    this.fetch = options.fetch ?? fetch;
  }

  get active(): number {
    return this.inFlight;
  }

  /** Never rejects. `clientIp` is the address the client's TCP connection came from. */
  async forward(request: HttpProxyRequest, clientIp: string): Promise<ProxyResult> {
    const plan = planForward(request, this.options);
    if ('kind' in plan) return proxyFailure(plan.status, refusalText[plan.kind], plan.kind);
    if (this.inFlight >= this.options.maxInFlight) return proxyFailure(503, 'api tunnel busy', 'busy');
    this.inFlight++;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    try {
      const headers = new Headers(plan.headers as [string, string][]);
      // The only address the api believes from signal (its TRUST_PROXY lists signal): the client's.
      headers.set('x-forwarded-for', clientIp);
      const response = await this.fetch(new URL(plan.path, this.base), {
        method: plan.method,
        headers,
        body: plan.body,
        redirect: 'manual',
        signal: controller.signal,
      });
      const body = await readCapped(response, this.options.maxResponseBytes);
      if (body === undefined) {
        controller.abort();
        return proxyFailure(502, 'api response too large', 'response-too-large');
      }
      return {
        outcome: 'forwarded',
        response: { status: response.status, headers: responseHeaders(response.headers), body, error: '' },
      };
    } catch {
      return controller.signal.aborted
        ? proxyFailure(504, 'api did not answer in time', 'api-timeout')
        : proxyFailure(502, 'api unreachable', 'api-unreachable');
    } finally {
      clearTimeout(timer);
      this.inFlight--;
    }
  }
}

const refusalText: Record<'bad-method' | 'bad-path' | 'bad-header' | 'body-too-large', string> = {
  'bad-method': 'method not allowed',
  'bad-path': 'path not served through signal',
  'bad-header': 'malformed headers',
  'body-too-large': 'request body too large',
};

function responseHeaders(headers: Headers): HeaderEntry[] {
  const out: HeaderEntry[] = [];
  headers.forEach((value, name) => {
    if (!DROPPED_RESPONSE_HEADERS.has(name)) out.push({ name, value });
  });
  return out;
}

/** The body, or undefined as soon as it passes `limit` bytes (the rest is never read). */
async function readCapped(response: Response, limit: number): Promise<Buffer | undefined> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > limit) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Leaving the loop early cancels the stream: the rest of an oversize body is never read.
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
