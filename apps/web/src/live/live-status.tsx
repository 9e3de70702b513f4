import { useLiveState } from './live-events';

const LABELS = { live: 'Live', connecting: 'Connecting…', offline: 'Offline' } as const;

/** Whether what the pages show is kept current by the live stream. */
export function LiveStatus() {
  const state = useLiveState();
  return (
    <span className={`live-status live-${state}`} role="status" aria-live="polite" title="Live updates">
      {LABELS[state]}
    </span>
  );
}
