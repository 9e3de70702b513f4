import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { ConfirmDialog } from '../../ui/confirm-dialog';
import { ErrorNotice } from '../../ui/error-notice';
import { runBulk, useInvalidateDevices } from './devices-api';
import { type BulkAction, type BulkResult, type Device } from './devices-types';

const WORDS: Record<BulkAction, { verb: string; done: string; already: string; effect: string }> = {
  approve: {
    verb: 'Approve',
    done: 'approved',
    already: 'already admitted',
    effect: 'They may register with the signal server and be reached.',
  },
  ban: {
    verb: 'Ban',
    done: 'banned',
    already: 'already banned',
    effect: 'Their live connections are cut now and they cannot register until unbanned.',
  },
  unban: {
    verb: 'Unban',
    done: 'unbanned',
    already: 'not banned',
    effect: 'They may register again.',
  },
  delete: {
    verb: 'Delete',
    done: 'deleted',
    already: 'already deleted',
    effect:
      'Their connections are cut and they disappear from the list; their ids stay taken, so they cannot register again.',
  },
};

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * The confirmation of a bulk action: how many devices, which ids, what it does to them, and (from a
 * dry run) which of them it would skip. Then the outcome, device by device when any failed.
 */
export function BulkDialog({
  action,
  devices,
  onClose,
}: {
  action: BulkAction;
  devices: readonly Device[];
  onClose: (result: BulkResult | undefined) => void;
}) {
  const words = WORDS[action];
  const [reason, setReason] = useState('');
  const [reasonMissing, setReasonMissing] = useState(false);
  const invalidate = useInvalidateDevices();
  const ids = devices.map((device) => device.id);
  const preview = useQuery({
    queryKey: ['devices', 'bulk-preview', action, ids],
    // The ban's reason is required even by a dry run, which stores nothing.
    queryFn: () => runBulk(action, ids, action === 'ban' ? 'preview' : undefined, true),
    staleTime: Infinity,
  });
  const run = useMutation({
    mutationFn: () => runBulk(action, ids, action === 'ban' ? reason.trim() : undefined, false),
    onSettled: () => invalidate(),
    onSuccess: (result) => onClose(result),
  });
  const skipped = preview.data?.results.filter((result) => result.outcome !== 'ok') ?? [];
  const acting = devices.length - skipped.length;
  const title = `${words.verb} ${plural(devices.length, 'device')}`;

  const confirm = () => {
    if (action === 'ban' && reason.trim() === '') {
      setReasonMissing(true);
      return;
    }
    run.mutate();
  };

  return (
    <ConfirmDialog
      open
      title={title}
      confirmLabel={title}
      danger={action === 'ban' || action === 'delete'}
      busy={run.isPending}
      onConfirm={confirm}
      onCancel={() => onClose(undefined)}
    >
      <p className="bulk-summary">
        This will {action} {plural(devices.length, 'device')}. {words.effect}
      </p>
      <ul className="id-list" aria-label="Devices">
        {ids.map((id) => (
          <li key={id}>
            <code>{id}</code>
          </li>
        ))}
      </ul>
      {preview.data !== undefined && skipped.length > 0 && (
        <p className="notice notice-warn">
          {plural(skipped.length, 'device')} {skipped.length === 1 ? 'is' : 'are'} {words.already} and will be
          left as {skipped.length === 1 ? 'it is' : 'they are'} (
          {skipped.map((result) => result.id).join(', ')}); {acting} will be {words.done}.
        </p>
      )}
      {preview.error !== null && <ErrorNotice error={preview.error} title="Could not check the devices" />}
      {action === 'ban' && (
        <label>
          Reason (kept with the ban and in the audit log)
          <input
            value={reason}
            maxLength={512}
            required
            aria-invalid={reasonMissing}
            aria-describedby={reasonMissing ? 'bulk-reason-error' : undefined}
            onChange={(event) => {
              setReason(event.target.value);
              setReasonMissing(false);
            }}
          />
        </label>
      )}
      {reasonMissing && (
        <p className="field-error" id="bulk-reason-error">
          Say why these devices are banned.
        </p>
      )}
      {run.error !== null && <ErrorNotice error={run.error} />}
    </ConfirmDialog>
  );
}

/** What a bulk action did, device by device where it did not do what was asked. */
export function BulkOutcomeNotice({ result, onDismiss }: { result: BulkResult; onDismiss: () => void }) {
  const words = WORDS[result.action];
  const failed = result.results.filter(
    (entry) => entry.outcome === 'not_found' || entry.outcome === 'not_allowed',
  );
  return (
    <div className={failed.length > 0 ? 'notice notice-error' : 'notice notice-ok'} role="status">
      <span>
        {plural(result.counts.ok, 'device')} {words.done}
        {result.counts.already > 0 && `, ${result.counts.already} ${words.already}`}
        {failed.length > 0 && `, ${failed.length} failed`}.
      </span>
      {failed.length > 0 && (
        <ul>
          {failed.map((entry) => (
            <li key={entry.id}>
              <code>{entry.id}</code>: {entry.message ?? entry.outcome.replace('_', ' ')}
            </li>
          ))}
        </ul>
      )}{' '}
      <button type="button" className="link-button" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
