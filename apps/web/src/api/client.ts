import createClient, { type Middleware } from 'openapi-fetch';

import { apiErrorOf } from './api-error';
import { type paths } from './schema';

// The one way the console reaches the api: openapi-fetch typed by schema.d.ts, which is generated from
// the api's own OpenAPI document (npm run console:api-types). The session is the HttpOnly cookie; every
// state change echoes the CSRF cookie in X-CSRF-Token (double submit, apps/api/src/auth/session-cookies.ts).

const CSRF_COOKIE = '__Host-sb_csrf';
const CSRF_HEADER = 'X-CSRF-Token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function csrfToken(): string | undefined {
  const prefix = `${CSRF_COOKIE}=`;
  const cookie = document.cookie.split('; ').find((part) => part.startsWith(prefix));
  return cookie === undefined ? undefined : decodeURIComponent(cookie.slice(prefix.length));
}

const csrf: Middleware = {
  onRequest({ request }) {
    const token = csrfToken();
    if (!SAFE_METHODS.has(request.method) && token !== undefined) request.headers.set(CSRF_HEADER, token);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(csrf);

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The answer's body, or an ApiError (with the request id) for any failure: what TanStack Query wants
 * from a query or mutation function.
 */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await call;
  } catch {
    throw apiErrorOf(new Response(null, { status: 599 }), undefined);
  }
  if (!result.response.ok) throw apiErrorOf(result.response, result.error);
  return result.data as T;
}
