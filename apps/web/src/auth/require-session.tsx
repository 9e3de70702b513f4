import { type ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';

import { ErrorNotice } from '../ui/error-notice';
import { useMe } from './session';

/** Only for a signed-in user; a password set by someone else must be changed before anything else. */
export function RequireSession({
  children,
  allowPendingPassword = false,
}: {
  children: ReactNode;
  allowPendingPassword?: boolean;
}) {
  const { me, error } = useMe();
  const location = useLocation();
  if (error !== null && error !== undefined) {
    return (
      <main className="sign-in">
        <ErrorNotice error={error} title="The server could not be reached" />
      </main>
    );
  }
  if (me === undefined) {
    return (
      <p className="muted" role="status">
        Loading…
      </p>
    );
  }
  if (me === null) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/sign-in${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`} replace />;
  }
  if (me.passwordMustChange && !allowPendingPassword) return <Navigate to="/change-password" replace />;
  return <>{children}</>;
}
