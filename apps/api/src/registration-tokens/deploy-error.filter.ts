import { Catch, HttpException } from '@nestjs/common';

import { ClientApiErrorFilter } from '../client-api/client-api-error.filter';
import { DeployRefusal } from './deploy-refusal';

/**
 * The client API's `{error}`, plus the `result` code `rustdesk --deploy` understands: a refusal's
 * own, and INVALID_INPUT for a validation failure.
 */
@Catch()
export class DeployErrorFilter extends ClientApiErrorFilter {
  protected override resultCode(exception: unknown, statusCode: number): string | undefined {
    if (exception instanceof DeployRefusal) return exception.result;
    return statusCode === 400 && exception instanceof HttpException ? 'INVALID_INPUT' : undefined;
  }
}
