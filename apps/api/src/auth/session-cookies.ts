import '@fastify/cookie';

import { type FastifyReply, type FastifyRequest } from 'fastify';

// The browser console's two cookies (docs/architecture.md "Browser"):
//   __Host-sb_session  the opaque session token: HttpOnly, so no script can read it
//   __Host-sb_csrf     the CSRF token bound to it: readable by the console's script, which echoes it
//                      in X-CSRF-Token on every state change (double submit)
// Both are Secure and SameSite=Lax on Path=/ with no Domain, which the `__Host-` prefix makes the
// browser enforce: a sibling subdomain or a plain-http page cannot plant or shadow them. Browsers
// treat http://localhost as secure, so the one-machine start works too (any other plain-http
// address never had working Secure cookies). Without "remember me" they die with the browser.

export const SESSION_COOKIE = '__Host-sb_session';
export const CSRF_COOKIE = '__Host-sb_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export interface SessionCookieValues {
  readonly token: string;
  readonly csrfToken: string;
  /** Present for a "remember me" session: the cookies then survive a browser restart. */
  readonly maxAgeSeconds?: number;
}

const BASE = { secure: true, sameSite: 'lax', path: '/' } as const;

export function setSessionCookies(reply: FastifyReply, values: SessionCookieValues): void {
  const lifetime = values.maxAgeSeconds === undefined ? {} : { maxAge: values.maxAgeSeconds };
  void reply.setCookie(SESSION_COOKIE, values.token, { ...BASE, httpOnly: true, ...lifetime });
  void reply.setCookie(CSRF_COOKIE, values.csrfToken, { ...BASE, httpOnly: false, ...lifetime });
}

export function clearSessionCookies(reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { ...BASE, httpOnly: true });
  void reply.clearCookie(CSRF_COOKIE, { ...BASE, httpOnly: false });
}

export function sessionTokenOf(request: FastifyRequest): string | undefined {
  const token = request.cookies?.[SESSION_COOKIE];
  return typeof token === 'string' && token !== '' ? token : undefined;
}
