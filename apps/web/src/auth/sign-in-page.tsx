import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Navigate, useNavigate, useSearchParams } from 'react-router';

import { isApiError } from '../api/api-error';
import { api, unwrap } from '../api/client';
import { ErrorNotice } from '../ui/error-notice';
import { type Deadline, useCountdown } from '../ui/use-countdown';
import { ME_QUERY_KEY, useMe } from './session';

interface PasswordStep {
  username: string;
  password: string;
  rememberMe: boolean;
}
interface SecondStep {
  code: string;
}

function deadlineAfter(seconds: number): Deadline {
  return { until: Date.now() + seconds * 1000, seconds };
}

/** Only a path of this console, never another site: `next` comes from the address bar. */
function safeNext(next: string | null): string {
  return next !== null && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

/**
 * Sign in: the password, then (when the account has 2FA) the authenticator code or a recovery code.
 * A locked-out login shows the api's Retry-After as a countdown and keeps the button off until then.
 */
export function SignInPage() {
  const { me } = useMe();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [mfaToken, setMfaToken] = useState<string>();
  const [rememberMe, setRememberMe] = useState(false);
  const [useRecoveryCode, setUseRecoveryCode] = useState(false);
  const [error, setError] = useState<unknown>();
  const [lockedUntil, setLockedUntil] = useState<Deadline>();
  const secondsLocked = useCountdown(lockedUntil);
  const passwordForm = useForm<PasswordStep>({ defaultValues: { rememberMe: false } });
  const secondForm = useForm<SecondStep>();

  if (me !== undefined && me !== null) return <Navigate to={safeNext(params.get('next'))} replace />;

  const fail = (failure: unknown) => {
    setError(failure);
    if (isApiError(failure) && failure.retryAfterSeconds !== undefined) {
      setLockedUntil(deadlineAfter(failure.retryAfterSeconds));
    }
  };
  const signedIn = async (passwordMustChange: boolean) => {
    await client.invalidateQueries({ queryKey: ME_QUERY_KEY });
    await navigate(passwordMustChange ? '/change-password' : safeNext(params.get('next')), { replace: true });
  };

  const submitPassword = passwordForm.handleSubmit(async (values) => {
    setError(undefined);
    try {
      const answer = await unwrap(api.POST('/api/v1/auth/login', { body: values }));
      if (answer.mfaRequired) {
        setRememberMe(values.rememberMe);
        setMfaToken(answer.mfaToken);
        return;
      }
      await signedIn(answer.user.passwordMustChange);
    } catch (failure) {
      fail(failure);
    }
  });

  const submitSecond = secondForm.handleSubmit(async ({ code }) => {
    if (mfaToken === undefined) return;
    setError(undefined);
    const second = useRecoveryCode ? { recoveryCode: code.trim() } : { code: code.trim() };
    try {
      const answer = await unwrap(
        api.POST('/api/v1/auth/login/totp', { body: { mfaToken, rememberMe, ...second } }),
      );
      if (answer.mfaRequired) return;
      await signedIn(answer.user.passwordMustChange);
    } catch (failure) {
      // An expired step (5 minutes) starts over with the password.
      if (isApiError(failure, 401) && failure.message.toLowerCase().includes('expired'))
        setMfaToken(undefined);
      fail(failure);
    }
  });

  const locked = secondsLocked > 0;
  return (
    <main className="sign-in">
      <div className="sign-in-card">
        <h1>Switchboard</h1>
        {mfaToken === undefined ? (
          <form onSubmit={(event) => void submitPassword(event)} noValidate>
            <h2>Sign in</h2>
            <label>
              Username
              <input
                autoComplete="username"
                autoFocus
                {...passwordForm.register('username', { required: true })}
                aria-invalid={passwordForm.formState.errors.username !== undefined}
              />
            </label>
            <label>
              Password
              <input
                type="password"
                autoComplete="current-password"
                {...passwordForm.register('password', { required: true })}
                aria-invalid={passwordForm.formState.errors.password !== undefined}
              />
            </label>
            <label className="checkbox">
              <input type="checkbox" {...passwordForm.register('rememberMe')} /> Keep me signed in on this
              browser
            </label>
            <SignInError error={error} secondsLocked={secondsLocked} />
            <button
              type="submit"
              className="button-primary"
              disabled={locked || passwordForm.formState.isSubmitting}
            >
              {locked ? `Try again in ${secondsLocked} s` : 'Sign in'}
            </button>
          </form>
        ) : (
          <form onSubmit={(event) => void submitSecond(event)} noValidate>
            <h2>Two-factor authentication</h2>
            <label>
              {useRecoveryCode ? 'Recovery code' : 'Code from your authenticator app'}
              <input
                key={useRecoveryCode ? 'recovery' : 'totp'}
                autoComplete="one-time-code"
                inputMode={useRecoveryCode ? 'text' : 'numeric'}
                autoFocus
                {...secondForm.register('code', {
                  required: true,
                  ...(useRecoveryCode ? {} : { pattern: /^\s*\d{6}\s*$/ }),
                })}
                aria-invalid={secondForm.formState.errors.code !== undefined}
              />
            </label>
            <button
              type="button"
              className="link-button"
              onClick={() => setUseRecoveryCode(!useRecoveryCode)}
            >
              {useRecoveryCode ? 'Use the authenticator code' : 'Use a recovery code instead'}
            </button>
            <SignInError error={error} secondsLocked={secondsLocked} />
            <button
              type="submit"
              className="button-primary"
              disabled={locked || secondForm.formState.isSubmitting}
            >
              {locked ? `Try again in ${secondsLocked} s` : 'Verify'}
            </button>
            <button type="button" className="link-button" onClick={() => setMfaToken(undefined)}>
              Start over
            </button>
          </form>
        )}
      </div>
    </main>
  );
}

function SignInError({ error, secondsLocked }: { error: unknown; secondsLocked: number }) {
  if (error === undefined) return null;
  if (secondsLocked > 0) {
    return (
      <p className="notice notice-error" role="alert">
        Too many attempts. You can try again in <span className="countdown">{secondsLocked}</span> seconds.
      </p>
    );
  }
  return <ErrorNotice error={error} />;
}
