import { type ReactNode } from 'react';

import { ErrorNotice } from './error-notice';

interface QueryLike<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly isPending: boolean;
}

/**
 * Every list and panel has the same three states besides its content: loading, error (with the request
 * id) and empty. `isEmpty` decides the last; `children` renders the data.
 */
export function QueryState<T>({
  query,
  isEmpty,
  empty,
  children,
}: {
  query: QueryLike<T>;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) {
    return (
      <p className="muted" role="status" aria-live="polite">
        Loading…
      </p>
    );
  }
  if (query.error !== null && query.error !== undefined) return <ErrorNotice error={query.error} />;
  if (query.data === undefined) return null;
  if (isEmpty?.(query.data) === true) return <p className="empty">{empty ?? 'Nothing here yet.'}</p>;
  return <>{children(query.data)}</>;
}
