import { type ArgumentsHost, Catch, type ExceptionFilter, Inject } from '@nestjs/common';
import { type Logger } from '@switchboard/observability';
import { type FastifyReply, type FastifyRequest } from 'fastify';

import { API_LOGGER } from '../app.tokens';
import { retryAfterSeconds, toErrorResponse } from '../errors/error-response';
import { noteOutage } from '../errors/outage-metrics';

/**
 * Errors of the RustDesk client API as the client reads them: JSON `{error}` with a non-200 status,
 * never the operator API's `{statusCode, …}` (docs/client-api.md "Error conventions"). The global
 * filter hands every client path here, so unknown paths and body-parsing failures answer alike.
 */
@Catch()
export class ClientApiErrorFilter implements ExceptionFilter {
  constructor(@Inject(API_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const { statusCode } = toErrorResponse(exception, request.id);
    sendClientApiError(
      exception,
      request,
      http.getResponse<FastifyReply>(),
      this.logger,
      this.resultCode(exception, statusCode),
    );
  }

  /** A code an endpoint sends beside `error` (deploy's `result`); none by default. */
  protected resultCode(_exception: unknown, _statusCode: number): string | undefined {
    return undefined;
  }
}

/**
 * The client's `{error}` answer for an exception (the filter's, and routes served outside Nest's
 * pipeline: device-sync/heartbeat-route.ts). Never shows the internals of a 500.
 */
export function sendClientApiError(
  exception: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
  result?: string,
): void {
  const { statusCode, message } = toErrorResponse(exception, request.id);
  noteOutage(request, exception);
  if (statusCode >= 500) {
    logger.error({ err: exception, requestId: request.id, url: request.url }, 'client API request failed');
  }
  const error = Array.isArray(message) ? message.join('; ') : message;
  if (reply.sent) return;
  const retryAfter = retryAfterSeconds(exception);
  if (retryAfter !== undefined) void reply.header('Retry-After', String(retryAfter));
  void reply
    .status(statusCode)
    .type('application/json; charset=utf-8')
    .send(result === undefined ? { error } : { result, error });
}
