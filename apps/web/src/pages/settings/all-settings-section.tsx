import { useState } from 'react';

import { useSignedIn } from '../../auth/session';
import { ConfirmDialog } from '../../ui/confirm-dialog';
import { ErrorNotice } from '../../ui/error-notice';
import { formatTime } from '../../ui/format';
import { ActionsHeader, RowButton } from '../../ui/row-actions';
import { TableWrap } from '../../ui/table-wrap';
import { changedBy, useSaveSetting } from './settings-api';
import { type Setting } from './settings-types';

/** Every stored key as the api holds it, known or not; removing one returns it to its default. */
export function AllSettingsSection({
  settings,
  canManage,
}: {
  settings: readonly Setting[];
  canManage: boolean;
}) {
  const me = useSignedIn();
  const [removing, setRemoving] = useState<Setting>();
  return (
    <section className="panel" aria-labelledby="all-settings-heading">
      <h2 id="all-settings-heading">All stored settings</h2>
      {settings.length === 0 ? (
        <p className="empty">Nothing is stored: every setting has its configured default.</p>
      ) : (
        <TableWrap label="Stored settings table">
          <table aria-label="Stored settings">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col" className="hide-narrow">
                  Changed
                </th>
                {canManage && <ActionsHeader />}
              </tr>
            </thead>
            <tbody>
              {settings.map((setting) => (
                <tr key={setting.key}>
                  <td className="mono">{setting.key}</td>
                  <td className="mono settings-value">{JSON.stringify(setting.value)}</td>
                  <td className="hide-narrow">
                    {formatTime(setting.updatedAt)}{' '}
                    <span className="muted">by {changedBy(setting.updatedBy, me.id)}</span>
                  </td>
                  {canManage && (
                    <td>
                      <RowButton label={`Remove ${setting.key}`} onClick={() => setRemoving(setting)}>
                        Remove
                      </RowButton>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {removing !== undefined && (
        <RemoveDialog key={removing.key} setting={removing} onClose={() => setRemoving(undefined)} />
      )}
    </section>
  );
}

function RemoveDialog({ setting, onClose }: { setting: Setting; onClose: () => void }) {
  const save = useSaveSetting(setting.key);
  return (
    <ConfirmDialog
      open
      title={`Remove ${setting.key}?`}
      confirmLabel="Remove"
      danger
      busy={save.isPending}
      onConfirm={() => save.mutate(null, { onSuccess: onClose })}
      onCancel={onClose}
    >
      <p>
        The stored value <code>{JSON.stringify(setting.value)}</code> of <code>{setting.key}</code> is
        deleted; signal and the relays go back to their configured default for it.
      </p>
      {save.error !== null && <ErrorNotice error={save.error} />}
    </ConfirmDialog>
  );
}
