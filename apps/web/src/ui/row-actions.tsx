import { type ReactNode } from 'react';

/** The header of a table's last column of row buttons: named for screen readers, blank on screen. */
export function ActionsHeader() {
  return (
    <th scope="col">
      <span className="visually-hidden">Actions</span>
    </th>
  );
}

/**
 * A small button acting on one row. `label` names the row as well ("Revoke ci-deploy"), since a table
 * of "Revoke" buttons is ambiguous to a screen reader.
 */
export function RowButton({
  label,
  onClick,
  children,
}: {
  label: string;
  onClick: () => void;
  children: ReactNode;
}) {
  return (
    <button type="button" className="button-small" aria-label={label} onClick={onClick}>
      {children}
    </button>
  );
}
