import { type FastifyReply, type FastifyRequest } from 'fastify';

import { toErrorResponse } from '../errors/error-response';
import { noteOutage } from '../errors/outage-metrics';

/**
 * Client paths whose answer the client prints verbatim (`rustdesk --assign`, src/core_main.rs): every
 * failure is one line of plain text. The route's own filter covers its refusals; body-parsing
 * failures (malformed JSON, an oversize body) reach the global filter first, which sends them here.
 */
const PLAIN_TEXT_CLIENT_PATHS: readonly string[] = ['/api/devices/cli'];

export function isPlainTextClientPath(url: string): boolean {
  return PLAIN_TEXT_CLIENT_PATHS.includes(url.split('?', 1)[0] ?? '');
}

export function sendPlainTextError(exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { statusCode, message } = toErrorResponse(exception, request.id);
  noteOutage(request, exception);
  if (reply.sent) return;
  void reply
    .status(statusCode)
    .type('text/plain; charset=utf-8')
    .send(Array.isArray(message) ? message.join('; ') : message);
}
