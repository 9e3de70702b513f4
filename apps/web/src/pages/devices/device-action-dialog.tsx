import { useState } from 'react';
import { useNavigate } from 'react-router';

import { ConfirmDialog } from '../../ui/confirm-dialog';
import { ErrorNotice } from '../../ui/error-notice';
import { plural } from './bulk-dialog';
import { type DeviceAction, useDeviceAction, useRevokePreview } from './devices-api';
import { type DeviceDetails } from './devices-types';

export type DialogKind =
  | { kind: 'approve' | 'ban' | 'unban' | 'change-id' | 'revoke' | 'delete' }
  | { kind: 'disconnect'; connId: number };

/** RustDesk's own rule for a custom id (docs/protocol.md §5.9), checked again by the api. */
const CUSTOM_ID = /^[A-Za-z][A-Za-z0-9_-]{5,15}$/;

/**
 * The confirmation of one action on one device, saying what it does; ban and revoke ask for a reason,
 * change-id for the new id, and revoke shows the linked devices a cascade would take down with it.
 * `onClose` gets what happened, or undefined when cancelled.
 */
export function DeviceActionDialog({
  device,
  dialog,
  onClose,
}: {
  device: DeviceDetails;
  dialog: DialogKind;
  onClose: (done: string | undefined) => void;
}) {
  const navigate = useNavigate();
  const action = useDeviceAction(device.id);
  const [text, setText] = useState('');
  const [cascade, setCascade] = useState(false);
  const [invalid, setInvalid] = useState<string>();
  const preview = useRevokePreview(device.id, dialog.kind === 'revoke');
  const id = device.id;

  const submit = (request: DeviceAction, done: string, then?: () => void) => {
    action.mutate(request, {
      onSuccess: () => {
        onClose(done);
        then?.();
      },
    });
  };

  const confirm = () => {
    setInvalid(undefined);
    switch (dialog.kind) {
      case 'approve':
        return submit({ kind: 'approve' }, `Device ${id} approved.`);
      case 'ban':
        if (text.trim() === '') return setInvalid('Say why this device is banned.');
        return submit({ kind: 'ban', reason: text.trim() }, `Device ${id} banned.`);
      case 'unban':
        return submit({ kind: 'unban' }, `Device ${id} unbanned.`);
      case 'delete':
        return submit({ kind: 'delete' }, `Device ${id} deleted.`);
      case 'revoke': {
        const reason = text.trim();
        const count = cascade ? (preview.data?.cascade.length ?? 0) : 0;
        return submit(
          { kind: 'revoke', cascade, ...(reason === '' ? {} : { reason }) },
          count === 0
            ? `Device ${id} revoked.`
            : `Device ${id} and ${plural(count, 'linked device')} revoked.`,
        );
      }
      case 'change-id': {
        const newId = text.trim();
        if (!CUSTOM_ID.test(newId))
          return setInvalid('An id starts with a letter and has 6 to 16 of A–Z, a–z, 0–9, _ and -.');
        return submit({ kind: 'change-id', newId }, `Device ${id} is now ${newId}.`, () => {
          void navigate(`/devices/${encodeURIComponent(newId)}`, { replace: true });
        });
      }
      case 'disconnect':
        return submit(
          { kind: 'disconnect', connId: dialog.connId },
          `Session ${dialog.connId} ends on the device's next heartbeat.`,
        );
    }
  };

  const common = {
    open: true,
    busy: action.isPending,
    onConfirm: confirm,
    onCancel: () => onClose(undefined),
  };
  const failure = action.error !== null && <ErrorNotice error={action.error} />;
  const fieldError = invalid !== undefined && (
    <p className="field-error" id="action-field-error">
      {invalid}
    </p>
  );

  switch (dialog.kind) {
    case 'approve':
      return (
        <ConfirmDialog {...common} title={`Approve device ${id}`} confirmLabel="Approve">
          <p>
            Device <code>{id}</code> ({device.hostname ?? 'no hostname reported'}) will be admitted: it may
            register with the signal server and be reached.
          </p>
          {failure}
        </ConfirmDialog>
      );
    case 'ban':
      return (
        <ConfirmDialog {...common} title={`Ban device ${id}`} confirmLabel="Ban" danger>
          <p>
            Device <code>{id}</code> will be banned: its live connections are cut now and it cannot register
            until it is unbanned.
          </p>
          <label>
            Reason (kept with the ban and in the audit log)
            <input
              value={text}
              maxLength={512}
              required
              aria-invalid={invalid !== undefined}
              aria-describedby={invalid === undefined ? undefined : 'action-field-error'}
              onChange={(event) => setText(event.target.value)}
            />
          </label>
          {fieldError}
          {failure}
        </ConfirmDialog>
      );
    case 'unban':
      return (
        <ConfirmDialog {...common} title={`Unban device ${id}`} confirmLabel="Unban">
          <p>
            Device <code>{id}</code> may register again.
            {device.banReason !== null && ` It was banned for: ${device.banReason}.`}
          </p>
          {failure}
        </ConfirmDialog>
      );
    case 'delete':
      return (
        <ConfirmDialog {...common} title={`Delete device ${id}`} confirmLabel="Delete" danger>
          <p>
            Device <code>{id}</code> will be deleted: its connections are cut and it leaves the device list.
            Its id stays taken, so it cannot register again until an admin purges it.
          </p>
          {failure}
        </ConfirmDialog>
      );
    case 'change-id':
      return (
        <ConfirmDialog {...common} title={`Change the id of device ${id}`} confirmLabel="Change ID">
          <p>
            The device will be known as the new id from now on; people who saved <code>{id}</code> must use
            the new one.
          </p>
          <label>
            New id
            <input
              value={text}
              maxLength={16}
              autoComplete="off"
              aria-invalid={invalid !== undefined}
              aria-describedby={invalid === undefined ? undefined : 'action-field-error'}
              onChange={(event) => setText(event.target.value)}
            />
          </label>
          {fieldError}
          {failure}
        </ConfirmDialog>
      );
    case 'disconnect':
      return (
        <ConfirmDialog {...common} title={`End session ${dialog.connId}`} confirmLabel="End session" danger>
          <p>
            Session <code>{dialog.connId}</code> on device <code>{id}</code> ends when the device next checks
            in (its heartbeat, within about 15 seconds).
          </p>
          {failure}
        </ConfirmDialog>
      );
    case 'revoke': {
      const linked = preview.data?.cascade ?? [];
      const count = cascade ? linked.length : 0;
      return (
        <ConfirmDialog
          {...common}
          title={`Revoke device ${id}`}
          confirmLabel={count === 0 ? 'Revoke' : `Revoke ${plural(count + 1, 'device')}`}
          danger
        >
          <p>
            Revoking deletes and bans device <code>{id}</code> and cuts its connections. It cannot be undone
            from the console.
          </p>
          {preview.isPending && <p className="muted">Checking linked devices…</p>}
          {preview.error !== null && <ErrorNotice error={preview.error} />}
          {preview.data !== undefined && linked.length === 0 && (
            <p className="muted">No device is linked to it: only this device is revoked.</p>
          )}
          {preview.data !== undefined && linked.length > 0 && (
            <>
              <label className="checkbox">
                <input
                  type="checkbox"
                  checked={cascade}
                  onChange={(event) => setCascade(event.target.checked)}
                />{' '}
                Also revoke its {plural(linked.length, 'linked device')}
              </label>
              <p>
                {cascade ? 'These will be revoked too:' : 'Linked devices (left as they are unless ticked):'}
              </p>
              <ul className="id-list" aria-label="Linked devices">
                {linked.map((linkedId) => (
                  <li key={linkedId}>
                    <code>{linkedId}</code>
                  </li>
                ))}
              </ul>
              {preview.data.tooMany && (
                <p className="notice notice-warn">
                  More than {preview.data.maxCascade} devices are linked: the cascade will be refused. Unlink
                  some first.
                </p>
              )}
            </>
          )}
          <label>
            Reason (optional)
            <input value={text} maxLength={512} onChange={(event) => setText(event.target.value)} />
          </label>
          {failure}
        </ConfirmDialog>
      );
    }
  }
}
