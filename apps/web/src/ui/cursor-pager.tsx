import { useState } from 'react';

/**
 * Cursor paging as the api offers it (newest first, `nextCursor` to go older): the cursors walked so
 * far are kept, so "Newer" goes back without the api having to page backwards.
 */
export function useCursorPages(): {
  cursor: string | undefined;
  page: number;
  older: (nextCursor: string) => void;
  newer: () => void;
} {
  const [cursors, setCursors] = useState<readonly (string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    page: cursors.length,
    older: (nextCursor) => setCursors([...cursors, nextCursor]),
    newer: () => setCursors(cursors.length > 1 ? cursors.slice(0, -1) : cursors),
  };
}

/** Newer / older over a cursor-paged list, with the page number walked so far. */
export function CursorPager({
  label,
  page,
  nextCursor,
  onNewer,
  onOlder,
}: {
  label: string;
  page: number;
  nextCursor: string | null | undefined;
  onNewer: () => void;
  onOlder: (cursor: string) => void;
}) {
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="button-small" disabled={page <= 1} onClick={onNewer}>
        ← Newer
      </button>
      <span className="muted">Page {page}</span>
      <button
        type="button"
        className="button-small"
        disabled={nextCursor === null || nextCursor === undefined}
        onClick={() => {
          if (nextCursor !== null && nextCursor !== undefined) onOlder(nextCursor);
        }}
      >
        Older →
      </button>
    </nav>
  );
}
