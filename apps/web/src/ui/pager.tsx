/** Where a server-paged list is: the api's `page`, `pageSize` and `total`. */
export interface PageOf {
  readonly page: number;
  readonly pageSize: number;
  readonly total: number;
}

/** Previous / next over a server-paged list. */
export function Pager({
  list,
  label,
  onPage,
}: {
  list: PageOf;
  label: string;
  onPage: (page: number) => void;
}) {
  const { page, pageSize, total } = list;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (pages <= 1 && page <= 1) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="button-small" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page} of {pages} ({total})
      </span>
      <button
        type="button"
        className="button-small"
        disabled={page >= pages}
        onClick={() => onPage(page + 1)}
      >
        Next
      </button>
    </nav>
  );
}
