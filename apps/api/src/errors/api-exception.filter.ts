import { type ArgumentsHost, Catch, type ExceptionFilter, Inject } from '@nestjs/common';
import { type Logger } from '@switchboard/observability';
import { type FastifyReply, type FastifyRequest } from 'fastify';

import { API_LOGGER } from '../app.tokens';
import { ClientApiErrorFilter } from '../client-api/client-api-error.filter';
import { isClientApiPath } from '../client-api/client-api-paths';
import { isPlainTextClientPath, sendPlainTextError } from '../client-api/plain-text-errors';
import { DeployErrorFilter, isDeployPath } from '../registration-tokens/deploy-error.filter';
import { retryAfterSeconds, toErrorResponse } from './error-response';
import { noteOutage } from './outage-metrics';

/**
 * Every error, from a route or from Fastify itself, leaves as JSON `{ statusCode, error, message,
 * requestId }`; on the RustDesk client's paths (unknown ones and body-parsing failures included) as the
 * `{error}` the client reads.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly clientApi: ClientApiErrorFilter;
  private readonly deploy: DeployErrorFilter;

  constructor(@Inject(API_LOGGER) private readonly logger: Logger) {
    this.clientApi = new ClientApiErrorFilter(logger);
    this.deploy = new DeployErrorFilter(logger);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    if (isPlainTextClientPath(request.url)) {
      return sendPlainTextError(exception, request, http.getResponse<FastifyReply>());
    }
    if (isDeployPath(request.url)) return this.deploy.catch(exception, host);
    if (isClientApiPath(request.url)) return this.clientApi.catch(exception, host);
    const reply = http.getResponse<FastifyReply>();
    const body = toErrorResponse(exception, request.id);
    noteOutage(request, exception);

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
