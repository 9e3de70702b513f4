import { HttpException } from '@nestjs/common';

/**
 * The `result` codes `rustdesk --deploy` understands (src/ui_interface.rs `deploy_device`):
 * NOT_ENABLED exits 3 ("The server does not require explicit deployment"), INVALID_INPUT exits 5, ID_TAKEN exits 6 ("Id ... is already used by another machine"); any other
 * body is printed as the error text. The client ignores the HTTP status (it only retries 5xx
 * through its TCP proxy), so refusals are 4xx and carry `error` for a human.
 */
export type DeployResultCode = 'INVALID_INPUT' | 'ID_TAKEN' | 'NOT_ENABLED';

export class DeployRefusal extends HttpException {
  constructor(
    status: number,
    message: string,
    readonly result?: DeployResultCode,
    /** Recorded in the audit entry of the refusal. */
    readonly reason: string = message,
  ) {
    super(message, status);
  }
}
