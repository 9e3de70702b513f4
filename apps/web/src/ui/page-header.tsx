import { type ReactNode, useEffect } from 'react';

/** A page's title (also the document's, for tabs and screen readers) and its main actions. */
export function PageHeader({ title, actions }: { title: string; actions?: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Switchboard`;
  }, [title]);
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {actions !== undefined && <div className="page-actions">{actions}</div>}
    </header>
  );
}
