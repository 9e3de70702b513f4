/** The api's error body (the OpenAPI document's ApiError): every failure has this shape. */
export interface ApiErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly message: string | string[];
  readonly requestId?: string;
}

/** A failed call, with what the person needs to report it: the message and the request id. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody | undefined,
    /** Seconds, from Retry-After (the login ladder, rate limits). */
    readonly retryAfterSeconds: number | undefined,
    readonly requestId: string | undefined,
  ) {
    super(messageOf(status, body));
    this.name = 'ApiError';
  }
}

function messageOf(status: number, body: ApiErrorBody | undefined): string {
  if (body === undefined) return status === 0 ? 'The server could not be reached' : `HTTP ${status}`;
  return Array.isArray(body.message) ? body.message.join('; ') : body.message;
}

export function isApiError(error: unknown, status?: number): error is ApiError {
  return error instanceof ApiError && (status === undefined || error.status === status);
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return typeof value === 'object' && value !== null && 'statusCode' in value && 'message' in value;
}

export function apiErrorOf(response: Response, body: unknown): ApiError {
  const retryAfter = Number(response.headers.get('retry-after'));
  const parsed = isErrorBody(body) ? body : undefined;
  return new ApiError(
    response.status,
    parsed,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    parsed?.requestId ?? response.headers.get('x-request-id') ?? undefined,
  );
}

/**
 * A 400's problems for the named fields: the api's validation words each bad field as `path: problem`
 * (apps/api/src/http/validation.ts). `other` keeps every message not about one of `fields`, so
 * nothing the api said is dropped. undefined for any other failure.
 */
export function fieldProblems<F extends string>(
  error: unknown,
  fields: readonly F[],
): { byField: Partial<Record<F, string>>; other: string[] } | undefined {
  if (!isApiError(error, 400) || error.body === undefined) return undefined;
  const messages = Array.isArray(error.body.message) ? error.body.message : [error.body.message];
  const byField: Partial<Record<F, string>> = {};
  const other: string[] = [];
  for (const message of messages) {
    const field = fields.find((name) => message.startsWith(`${name}: `));
    if (field === undefined) {
      other.push(message);
      continue;
    }
    const problem = message.slice(field.length + 2);
    const earlier = byField[field];
    byField[field] = earlier === undefined ? problem : `${earlier}; ${problem}`;
  }
  return { byField, other };
}
