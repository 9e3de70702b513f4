/** A relay node's state: draining (takes no new sessions) or serving. */
export function RelayStateBadge({ draining }: { draining: boolean }) {
  return draining ? (
    <span className="badge badge-warn">draining</span>
  ) : (
    <span className="badge badge-ok">serving</span>
  );
}
