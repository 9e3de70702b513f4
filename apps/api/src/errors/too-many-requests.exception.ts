import { HttpException, HttpStatus } from '@nestjs/common';

/** 429 with the `Retry-After` header (whole seconds) the exception filter adds from it. */
export class TooManyRequestsException extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, HttpStatus.TOO_MANY_REQUESTS);
  }
}
