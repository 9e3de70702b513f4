/** The page header's button that opens and closes a page's "new …" form. */
export function FormToggle({
  open,
  onToggle,
  label,
  closeLabel,
}: {
  open: boolean;
  onToggle: (open: boolean) => void;
  /** "New strategy" */
  label: string;
  /** "Close the new strategy form" */
  closeLabel: string;
}) {
  return (
    <button type="button" className="button-primary" aria-expanded={open} onClick={() => onToggle(!open)}>
      {open ? closeLabel : label}
    </button>
  );
}
