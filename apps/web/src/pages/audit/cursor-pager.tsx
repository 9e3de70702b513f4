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

export function Pager({
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

/** `<input type="datetime-local">` (local time, no zone) as the api's ISO 8601 instant. */
export function isoOfLocal(value: string | null): string | undefined {
  if (value === null || value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The non-empty string fields of a form, trimmed. */
export function formFields(form: HTMLFormElement, names: readonly string[]): Record<string, string> {
  const data = new FormData(form);
  const fields: Record<string, string> = {};
  for (const name of names) {
    const value = data.get(name);
    if (typeof value === 'string' && value.trim() !== '') fields[name] = value.trim();
  }
  return fields;
}
