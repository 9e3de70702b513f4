import { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';

import { isClientApiPath } from '../client-api/client-api-paths';
import { type ApiConfig } from '../config';
import { REQUEST_ID_HEADER } from '../http/request-id';
import { applyExtraSecurityHeaders, BARE_RESPONSE_HEADERS } from '../http/security-headers';
import { toErrorResponse } from './error-response';

/**
 * Fastify's `frameworkErrors`: errors its router raises before any hook or Nest handler runs (a URL
 * with invalid %-encoding, a path parameter over maxParamLength). Without this they leave in Fastify's
 * own shape with no request id and no security headers.
 */
export function frameworkErrorHandler(
  config: ApiConfig,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const body = toErrorResponse(error, request.id);
    void reply.headers(BARE_RESPONSE_HEADERS).header(REQUEST_ID_HEADER, request.id);
    applyExtraSecurityHeaders(request, reply, config);
    // The RustDesk client reads `{error}` (docs/client-api.md "Error conventions"), as the client-path filter writes it.
    const sent = isClientApiPath(request.url) ? { error: clientMessage(body.message) } : body;
    void reply.status(body.statusCode).type('application/json; charset=utf-8').send(sent);
  };
}

function clientMessage(message: string | string[]): string {
  return Array.isArray(message) ? message.join('; ') : message;
}
