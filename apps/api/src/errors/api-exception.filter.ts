import { type ArgumentsHost, Catch, type ExceptionFilter, Inject } from '@nestjs/common';
import { type Logger } from '@switchboard/observability';
import { type FastifyReply, type FastifyRequest } from 'fastify';

import { API_LOGGER } from '../app.tokens';
import { retryAfterSeconds, toErrorResponse } from './error-response';

/** Every error, from a route or from Fastify itself, leaves as JSON `{ statusCode, error, message, requestId }`. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(@Inject(API_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const body = toErrorResponse(exception, request.id);

    if (body.statusCode >= 500) {
      this.logger.error(
        { err: exception, requestId: request.id, method: request.method, url: request.url },
        'request failed',
      );
    }
    if (reply.sent) return; // headers are gone; the log line above is all we can do
    const retryAfter = retryAfterSeconds(exception);
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    void reply.status(body.statusCode).type('application/json; charset=utf-8').send(body);
  }
}
