import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';

import { api, unwrap } from '../../api/client';
import { ME_QUERY_KEY, useSignedIn } from '../../auth/session';
import { CopyButton } from '../../ui/copy-button';
import { saveBlob } from '../../ui/download';
import { ErrorNotice } from '../../ui/error-notice';
import { QrCode } from '../../ui/qr-code';

const CODE_PATTERN = /^\s*\d{6}\s*$/;

/**
 * Two-factor authentication: enrol (password → secret and QR code → first code → recovery codes,
 * shown once), new recovery codes (a code), and turning it off (password and a code).
 */
export function TwoFactorSection() {
  const me = useSignedIn();
  // Held here, above the enrol/enabled switch: confirming turns 2FA on, and the codes must stay on
  // screen until the person says they saved them.
  const [recoveryCodes, setRecoveryCodes] = useState<readonly string[]>();
  return (
    <section className="panel" aria-labelledby="two-factor-heading">
      <h2 id="two-factor-heading">Two-factor authentication</h2>
      {recoveryCodes !== undefined ? (
        <RecoveryCodesOnce
          codes={recoveryCodes}
          username={me.username}
          onDone={() => setRecoveryCodes(undefined)}
        />
      ) : me.totpEnabled ? (
        <TotpEnabled onNewCodes={setRecoveryCodes} />
      ) : (
        <TotpEnrolmentFlow onConfirmed={setRecoveryCodes} />
      )}
    </section>
  );
}

function TotpEnrolmentFlow({ onConfirmed }: { onConfirmed: (codes: readonly string[]) => void }) {
  const client = useQueryClient();
  const [started, setStarted] = useState(false);
  const passwordForm = useForm<{ password: string }>();
  const codeForm = useForm<{ code: string }>();
  const enroll = useMutation({
    mutationFn: (password: string) => unwrap(api.POST('/api/v1/auth/totp/enroll', { body: { password } })),
    onSuccess: () => passwordForm.reset(),
  });
  const confirm = useMutation({
    mutationFn: (code: string) => unwrap(api.POST('/api/v1/auth/totp/confirm', { body: { code } })),
    onSuccess: async ({ recoveryCodes }) => {
      onConfirmed(recoveryCodes);
      await client.invalidateQueries({ queryKey: ME_QUERY_KEY });
    },
  });

  if (!started) {
    return (
      <>
        <p>
          <span className="badge">Off</span> Signing in takes only your password. With two-factor
          authentication it also asks for a code from an authenticator app on your phone.
        </p>
        <button type="button" className="button-primary" onClick={() => setStarted(true)}>
          Set up two-factor authentication
        </button>
      </>
    );
  }
  if (enroll.data === undefined) {
    return (
      <form
        className="form"
        noValidate
        onSubmit={(event) => void passwordForm.handleSubmit(({ password }) => enroll.mutate(password))(event)}
      >
        <p>Confirm it is you: enter your password to get a new secret.</p>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            autoFocus
            {...passwordForm.register('password', { required: true })}
            aria-invalid={passwordForm.formState.errors.password !== undefined}
          />
        </label>
        {enroll.error !== null && <ErrorNotice error={enroll.error} />}
        <div className="account-buttons">
          <button type="submit" className="button-primary" disabled={enroll.isPending}>
            Continue
          </button>
          <button type="button" onClick={() => setStarted(false)}>
            Cancel
          </button>
        </div>
      </form>
    );
  }
  const { secret, otpauthUri } = enroll.data;
  return (
    <div className="totp-enrol">
      <ol className="account-steps">
        <li>
          Scan this code with your authenticator app (Aegis, Google Authenticator, 1Password…):
          <QrCode text={otpauthUri} label="QR code of the two-factor secret for your authenticator app" />
        </li>
        <li>
          Or type the secret in by hand:
          <div className="account-secret">
            <code>{secret}</code> <CopyButton text={secret} label="Copy secret" />
          </div>
        </li>
        <li>
          <form
            className="form"
            noValidate
            onSubmit={(event) => void codeForm.handleSubmit(({ code }) => confirm.mutate(code.trim()))(event)}
          >
            <label>
              The 6-digit code the app shows now
              <input
                autoComplete="one-time-code"
                inputMode="numeric"
                {...codeForm.register('code', { required: true, pattern: CODE_PATTERN })}
                aria-invalid={codeForm.formState.errors.code !== undefined}
              />
            </label>
            {confirm.error !== null && <ErrorNotice error={confirm.error} />}
            <div className="account-buttons">
              <button type="submit" className="button-primary" disabled={confirm.isPending}>
                Turn on two-factor authentication
              </button>
              <button
                type="button"
                onClick={() => {
                  enroll.reset();
                  setStarted(false);
                }}
              >
                Cancel
              </button>
            </div>
          </form>
        </li>
      </ol>
    </div>
  );
}

function TotpEnabled({ onNewCodes }: { onNewCodes: (codes: readonly string[]) => void }) {
  const client = useQueryClient();
  const [open, setOpen] = useState<'regenerate' | 'disable'>();
  const regenerateForm = useForm<{ code: string }>();
  const disableForm = useForm<{ password: string; code: string }>();
  const regenerate = useMutation({
    mutationFn: (code: string) => unwrap(api.POST('/api/v1/auth/recovery-codes', { body: { code } })),
    onSuccess: ({ recoveryCodes }) => onNewCodes(recoveryCodes),
  });
  const disable = useMutation({
    mutationFn: (body: { password: string; code: string }) =>
      unwrap(api.POST('/api/v1/auth/totp/disable', { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ME_QUERY_KEY }),
  });
  return (
    <>
      <p>
        <span className="badge badge-ok">On</span> Signing in asks for a code from your authenticator app, or
        one of your recovery codes.
      </p>
      <div className="account-buttons">
        <button
          type="button"
          aria-expanded={open === 'regenerate'}
          onClick={() => setOpen(open === 'regenerate' ? undefined : 'regenerate')}
        >
          New recovery codes
        </button>
        <button
          type="button"
          aria-expanded={open === 'disable'}
          onClick={() => setOpen(open === 'disable' ? undefined : 'disable')}
        >
          Turn off…
        </button>
      </div>
      {open === 'regenerate' && (
        <form
          className="form account-subform"
          noValidate
          onSubmit={(event) =>
            void regenerateForm.handleSubmit(({ code }) => regenerate.mutate(code.trim()))(event)
          }
        >
          <p>Your old recovery codes stop working and ten new ones are shown once.</p>
          <label>
            Code from your authenticator app
            <input
              autoComplete="one-time-code"
              inputMode="numeric"
              autoFocus
              {...regenerateForm.register('code', { required: true, pattern: CODE_PATTERN })}
              aria-invalid={regenerateForm.formState.errors.code !== undefined}
            />
          </label>
          {regenerate.error !== null && <ErrorNotice error={regenerate.error} />}
          <div className="account-buttons">
            <button type="submit" className="button-primary" disabled={regenerate.isPending}>
              Replace my recovery codes
            </button>
          </div>
        </form>
      )}
      {open === 'disable' && (
        <form
          className="form account-subform"
          noValidate
          onSubmit={(event) =>
            void disableForm.handleSubmit(({ password, code }) =>
              disable.mutate({ password, code: code.trim() }),
            )(event)
          }
        >
          <p>
            Signing in will take only your password again, and your recovery codes are deleted. You can set
            two-factor authentication up again later with a new secret.
          </p>
          <label>
            Password
            <input
              type="password"
              autoComplete="current-password"
              autoFocus
              {...disableForm.register('password', { required: true })}
              aria-invalid={disableForm.formState.errors.password !== undefined}
            />
          </label>
          <label>
            Code from your authenticator app, or a recovery code
            <input
              autoComplete="one-time-code"
              {...disableForm.register('code', { required: true })}
              aria-invalid={disableForm.formState.errors.code !== undefined}
            />
          </label>
          {disable.error !== null && <ErrorNotice error={disable.error} />}
          <div className="account-buttons">
            <button type="submit" className="button-danger" disabled={disable.isPending}>
              Turn off two-factor authentication
            </button>
          </div>
        </form>
      )}
    </>
  );
}

function RecoveryCodesOnce({
  codes,
  username,
  onDone,
}: {
  codes: readonly string[];
  username: string;
  onDone: () => void;
}) {
  const text = `${codes.join('\n')}\n`;
  return (
    <div className="secret-once" role="region" aria-label="Recovery codes">
      <p>
        <strong>Two-factor authentication is on.</strong> Save these recovery codes somewhere safe now: they
        are shown only this once. Each one signs you in once if you lose your phone.
      </p>
      <ul className="recovery-codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div className="account-buttons">
        <CopyButton text={text} label="Copy codes" />
        <button
          type="button"
          className="button-small"
          onClick={() =>
            saveBlob(
              new Blob([text], { type: 'text/plain;charset=utf-8' }),
              `switchboard-recovery-codes-${username.replace(/[^\w.-]/g, '_')}.txt`,
            )
          }
        >
          Download
        </button>
        <button type="button" className="button-small button-primary" onClick={onDone}>
          I have saved them
        </button>
      </div>
    </div>
  );
}
