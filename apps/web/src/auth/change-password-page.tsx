import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { useNavigate } from 'react-router';

import { api, unwrap } from '../api/client';
import { ErrorNotice } from '../ui/error-notice';
import { ME_QUERY_KEY, useSignedIn } from './session';

/** The api's minimum for a password (apps/api/src/config.ts MIN_ADMIN_PASSWORD_LENGTH). */
const MIN_PASSWORD_LENGTH = 12;

interface Values {
  currentPassword: string;
  newPassword: string;
  repeat: string;
}

/** Change my password; also the forced step after a sign-in with a password someone else set. */
export function ChangePasswordForm({ onDone }: { onDone: () => void }) {
  const client = useQueryClient();
  const [error, setError] = useState<unknown>();
  const form = useForm<Values>();
  const errors = form.formState.errors;
  const submit = form.handleSubmit(async ({ currentPassword, newPassword }) => {
    setError(undefined);
    try {
      await unwrap(api.POST('/api/v1/auth/password', { body: { currentPassword, newPassword } }));
      await client.invalidateQueries({ queryKey: ME_QUERY_KEY });
      form.reset();
      onDone();
    } catch (failure) {
      setError(failure);
    }
  });
  return (
    <form onSubmit={(event) => void submit(event)} noValidate className="form">
      <label>
        Current password
        <input
          type="password"
          autoComplete="current-password"
          {...form.register('currentPassword', { required: 'is required' })}
          aria-invalid={errors.currentPassword !== undefined}
        />
      </label>
      <label>
        New password (at least {MIN_PASSWORD_LENGTH} characters)
        <input
          type="password"
          autoComplete="new-password"
          {...form.register('newPassword', {
            required: 'is required',
            minLength: {
              value: MIN_PASSWORD_LENGTH,
              message: `must be at least ${MIN_PASSWORD_LENGTH} characters`,
            },
          })}
          aria-invalid={errors.newPassword !== undefined}
          aria-describedby="new-password-error"
        />
      </label>
      {errors.newPassword?.message !== undefined && (
        <p id="new-password-error" className="field-error">
          New password {errors.newPassword.message}
        </p>
      )}
      <label>
        Repeat the new password
        <input
          type="password"
          autoComplete="new-password"
          {...form.register('repeat', {
            validate: (value, values) => value === values.newPassword || 'does not match',
          })}
          aria-invalid={errors.repeat !== undefined}
          aria-describedby="repeat-error"
        />
      </label>
      {errors.repeat?.message !== undefined && (
        <p id="repeat-error" className="field-error">
          The repeated password {errors.repeat.message}
        </p>
      )}
      {error !== undefined && <ErrorNotice error={error} />}
      <button type="submit" className="button-primary" disabled={form.formState.isSubmitting}>
        Change password
      </button>
    </form>
  );
}

export function ChangePasswordPage() {
  const me = useSignedIn();
  const navigate = useNavigate();
  return (
    <main className="sign-in">
      <div className="sign-in-card">
        <h1>Choose a new password</h1>
        {me.passwordMustChange && (
          <p>Your password was set by someone else. Choose your own before you go on.</p>
        )}
        <ChangePasswordForm onDone={() => void navigate('/', { replace: true })} />
      </div>
    </main>
  );
}
