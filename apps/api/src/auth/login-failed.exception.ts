import { UnauthorizedException } from '@nestjs/common';

/**
 * A login's 401, carrying which check failed for the login metric (login-metrics.ts). The caller
 * sees exactly the UnauthorizedException it always did: the message stays the one answer for the case.
 */
export class LoginFailedException extends UnauthorizedException {
  constructor(
    readonly result: 'bad_credentials' | 'second_factor_failed',
    message: string,
  ) {
    super(message);
  }
}
