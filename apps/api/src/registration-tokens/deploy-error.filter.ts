import { Catch } from '@nestjs/common';

import { ClientApiErrorFilter } from '../client-api/client-api-error.filter';
import { DeployRefusal } from './deploy-refusal';

export const DEPLOY_PATH = '/api/devices/deploy';

/**
 * The client API's `{error}`, plus the `result` code `rustdesk --deploy` understands (exit code 5 for
 * INVALID_INPUT, src/core_main.rs): a refusal's own, and INVALID_INPUT for a body that is not a valid
 * request, whether validation refused it or it never parsed (malformed JSON, oversize; those reach
 * the global filter, which hands this path here).
 */
@Catch()
export class DeployErrorFilter extends ClientApiErrorFilter {
  protected override resultCode(exception: unknown, statusCode: number): string | undefined {
    if (exception instanceof DeployRefusal) return exception.result;
    return statusCode === 400 || statusCode === 413 ? 'INVALID_INPUT' : undefined;
  }
}

export function isDeployPath(url: string): boolean {
  return url.split('?', 1)[0] === DEPLOY_PATH;
}
