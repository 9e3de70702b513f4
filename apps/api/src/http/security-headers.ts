import fastifyHelmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyReply, type FastifyRequest } from 'fastify';

import { type ApiConfig } from '../config';

/*
 * The headers every response carries (docs/architecture.md "Security model": strict CSP, the usual
 * security headers), errors and 404s included. helmet sets them in an onRequest hook, so they are on
 * the reply before routing, body parsing, guards or handlers can fail.
 */

type Directives = Record<string, string[]>;

/** No inline script or style anywhere, no plugins, no framing, forms and <base> only to ourselves. */
export const CONTENT_SECURITY_POLICY: Readonly<Directives> = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  // data: for the small SVG icons stylesheets embed (Swagger UI's among them); never remote images.
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  // Not upgrade-insecure-requests: a plain-http install on a closed network would break its own page.
};

/**
 * Powerful browser features the console never uses, denied to it and to anything it could embed.
 * (helmet does not set Permissions-Policy.) Clipboard is left alone: the console copies keys. Only
 * features Chromium recognises: it logs an error for each unknown one.
 */
export const PERMISSIONS_POLICY = [
  'accelerometer',
  'autoplay',
  'camera',
  'display-capture',
  'encrypted-media',
  'geolocation',
  'gyroscope',
  'hid',
  'idle-detection',
  'magnetometer',
  'microphone',
  'midi',
  'payment',
  'screen-wake-lock',
  'serial',
  'usb',
  'xr-spatial-tracking',
]
  .map((feature) => `${feature}=()`)
  .join(', ');

export const HELMET_OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { ...CONTENT_SECURITY_POLICY } },
  // Decided per request (hstsValue below), which helmet's static header cannot do.
  strictTransportSecurity: false,
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginOpenerPolicy: { policy: 'same-origin' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
};

/**
 * HSTS only on a request that arrived over TLS, as Fastify computes `request.protocol`: the socket
 * itself, or X-Forwarded-Proto from a proxy listed in TRUST_PROXY. Not from PUBLIC_URL: browsers
 * ignore HSTS received over plain http anyway (RFC 6797 §8.1), and a probe or a LAN client reaching
 * the plain port must not be told otherwise.
 */
function hstsValue(request: FastifyRequest, config: ApiConfig): string | undefined {
  return request.protocol === 'https'
    ? `max-age=${config.HSTS_MAX_AGE_SECONDS}; includeSubDomains`
    : undefined;
}

/** The headers helmet does not cover; also used directly where Fastify answers without running hooks. */
export function applyExtraSecurityHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  config: ApiConfig,
): void {
  void reply.header('permissions-policy', PERMISSIONS_POLICY);
  // API answers carry tokens and personal data: no shared or browser cache keeps them unless a
  // route says otherwise (static assets set their own Cache-Control, which replaces this one).
  void reply.header('cache-control', 'no-store');
  const hsts = hstsValue(request, config);
  if (hsts !== undefined) void reply.header('strict-transport-security', hsts);
}

/** Registers helmet and the extra headers on the app's Fastify instance; call before `app.init()`. */
export async function registerSecurityHeaders(app: NestFastifyApplication, config: ApiConfig): Promise<void> {
  await app.register(fastifyHelmet, HELMET_OPTIONS);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      applyExtraSecurityHeaders(request, reply, config);
      done();
    });
}

/**
 * For the few answers Fastify gives before any hook runs (a path with broken %-encoding, an
 * over-long path parameter): the same protections, fixed, for a JSON error body that needs nothing.
 */
export const BARE_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};
