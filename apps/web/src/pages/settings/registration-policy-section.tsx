import { useState } from 'react';

import { useSignedIn } from '../../auth/session';
import { ConfirmDialog } from '../../ui/confirm-dialog';
import { ErrorNotice } from '../../ui/error-notice';
import { formatTime } from '../../ui/format';
import { changedBy, REGISTRATION_POLICY_KEY, useSaveSetting } from './settings-api';
import { type Setting } from './settings-types';

/** The policies signal applies (libs/events settings.ts REGISTRATION_POLICIES), in order of openness. */
const POLICIES = [
  { value: 'open', label: 'Open', help: 'Any RustDesk client may register a new device id.' },
  {
    value: 'token',
    label: 'Registration token',
    help: 'A new device needs a registration token (Registration tokens page).',
  },
  {
    value: 'approval',
    label: 'Approval',
    help: 'New devices register as pending and work once an operator approves them.',
  },
  {
    value: 'locked',
    label: 'Locked',
    help: 'No new device may register; known devices carry on.',
  },
] as const;

export function RegistrationPolicySection({ setting, canManage }: { setting?: Setting; canManage: boolean }) {
  const me = useSignedIn();
  const current = typeof setting?.value === 'string' ? setting.value : undefined;
  const [chosen, setChosen] = useState<string>();
  const [confirmReset, setConfirmReset] = useState(false);
  const save = useSaveSetting(REGISTRATION_POLICY_KEY);
  const selected = chosen ?? current;
  const dirty = chosen !== undefined && chosen !== current;

  return (
    <section className="panel" aria-labelledby="policy-heading">
      <h2 id="policy-heading">Registration policy</h2>
      <p className="muted">
        Who may register a new device with the ID server. Signal applies a change at once.{' '}
        {setting === undefined
          ? 'Not set here: signal uses its configured default (REGISTRATION_POLICY).'
          : `Set by ${changedBy(setting.updatedBy, me.id)} on ${formatTime(setting.updatedAt)}.`}
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (chosen !== undefined) save.mutate(chosen, { onSuccess: () => setChosen(undefined) });
        }}
      >
        <fieldset className="settings-choices" disabled={!canManage || save.isPending}>
          <legend>Policy</legend>
          {POLICIES.map((policy) => (
            <label key={policy.value} className="settings-choice">
              <input
                type="radio"
                name="registration-policy"
                value={policy.value}
                checked={selected === policy.value}
                onChange={() => setChosen(policy.value)}
                aria-describedby={`policy-${policy.value}-help`}
              />
              <span>
                <span className="settings-choice-label">
                  {policy.label}
                  {current === policy.value && <span className="badge badge-ok">current</span>}
                </span>
                <span id={`policy-${policy.value}-help`} className="muted settings-choice-help">
                  {policy.help}
                </span>
              </span>
            </label>
          ))}
        </fieldset>
        {save.error !== null && <ErrorNotice error={save.error} title="Not saved" />}
        {canManage && (
          <div className="settings-buttons">
            <button type="submit" className="button-primary" disabled={!dirty || save.isPending}>
              Save policy
            </button>
            {dirty && (
              <button type="button" onClick={() => setChosen(undefined)}>
                Undo
              </button>
            )}
            {setting !== undefined && (
              <button type="button" onClick={() => setConfirmReset(true)} disabled={save.isPending}>
                Use the configured default
              </button>
            )}
          </div>
        )}
      </form>
      {/* Mounted only while open: ConfirmDialog's title id is fixed, one per page. */}
      {confirmReset && (
        <ConfirmDialog
          open
          title="Use the configured default?"
          confirmLabel="Remove the setting"
          busy={save.isPending}
          onConfirm={() =>
            save.mutate(null, {
              onSettled: () => setConfirmReset(false),
              onSuccess: () => setChosen(undefined),
            })
          }
          onCancel={() => setConfirmReset(false)}
        >
          <p>
            The setting <code>{REGISTRATION_POLICY_KEY}</code> (now <strong>{current ?? 'unset'}</strong>) is
            removed, and signal goes back to the policy in its REGISTRATION_POLICY environment variable.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
