import { type ReactNode } from 'react';

/**
 * A table that may scroll sideways on a narrow screen. Focusable and named, so a keyboard user can
 * scroll it too (axe: scrollable-region-focusable).
 */
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}
