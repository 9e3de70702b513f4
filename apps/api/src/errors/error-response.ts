import { STATUS_CODES } from 'node:http';

import { HttpException } from '@nestjs/common';

import { isDependencyOutage, OUTAGE_RETRY_AFTER_SECONDS } from './dependency-outage';
import { TooManyRequestsException } from './too-many-requests.exception';

/** The one error shape every api response uses. */
export interface ErrorResponse {
  statusCode: number;
  /** The HTTP reason phrase, e.g. "Bad Request". */
  error: string;
  message: string | string[];
  /** Echoes the x-request-id header (or the generated id) so a report can be matched to the logs. */
  requestId: string;
}

const INTERNAL_MESSAGE = 'Internal server error';
const OUTAGE_MESSAGE = 'The service is temporarily unavailable; try again shortly';

/**
 * Maps anything thrown into the public error body. Only messages written for clients pass through
 * (HttpExceptions, Fastify's fixed-text framework errors); anything else becomes a generic 500 so
 * internals (SQL, file paths, stacks) never leak.
 */
export function toErrorResponse(exception: unknown, requestId: string): ErrorResponse {
  if (exception instanceof HttpException) {
    const statusCode = exception.getStatus();
    return {
      statusCode,
      error: reasonPhrase(statusCode),
      message: httpExceptionMessage(exception),
      requestId,
    };
  }
  const clientError = asClientError(exception);
  if (clientError !== undefined) return { ...clientError, requestId };
  if (isDependencyOutage(exception)) {
    return { statusCode: 503, error: reasonPhrase(503), message: OUTAGE_MESSAGE, requestId };
  }
  return { statusCode: 500, error: reasonPhrase(500), message: INTERNAL_MESSAGE, requestId };
}

/** The `Retry-After` (seconds) an error's response carries: a throttle's wait, or an outage's. */
export function retryAfterSeconds(exception: unknown): number | undefined {
  if (exception instanceof TooManyRequestsException) return exception.retryAfterSeconds;
  if (!(exception instanceof HttpException) && isDependencyOutage(exception))
    return OUTAGE_RETRY_AFTER_SECONDS;
  return undefined;
}

function httpExceptionMessage(exception: HttpException): string | string[] {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message) && message.every((item) => typeof item === 'string')) return message;
  return exception.message;
}

// Errors Fastify raises before a route runs (body parsing, limits) carry a 4xx statusCode.
function asClientError(exception: unknown): Omit<ErrorResponse, 'requestId'> | undefined {
  if (!(exception instanceof Error)) return undefined;
  const statusCode = (exception as { statusCode?: unknown }).statusCode;
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode > 499) return undefined;
  // JSON.parse's message quotes the offending body text; say what was wrong instead.
  const message =
    exception instanceof SyntaxError
      ? 'Request body is not valid JSON'
      : exception.name === 'FastifyError'
        ? exception.message
        : reasonPhrase(statusCode);
  return { statusCode, error: reasonPhrase(statusCode), message };
}

function reasonPhrase(statusCode: number): string {
  return STATUS_CODES[statusCode] ?? 'Error';
}
