import { ApiError } from '../api/api-error';

/** An api failure as a person can act on it: what went wrong, and the request id to quote. */
export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : 'Something went wrong';
  const requestId = error instanceof ApiError ? error.requestId : undefined;
  return (
    <div className="notice notice-error" role="alert">
      {title !== undefined && <strong>{title}: </strong>}
      <span>{message}</span>
      {requestId !== undefined && (
        <span className="request-id">
          {' '}
          (request id <code>{requestId}</code>)
        </span>
      )}
    </div>
  );
}
