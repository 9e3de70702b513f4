import './account.css';

import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { ChangePasswordForm } from '../../auth/change-password-page';
import { useSignedIn } from '../../auth/session';
import { PageHeader } from '../../ui/page-header';
import { SESSIONS_QUERY_KEY, SessionsSection } from './sessions-section';
import { TwoFactorSection } from './two-factor-section';

/** My account: password, two-factor authentication and where I am signed in. */
export function AccountPage() {
  const me = useSignedIn();
  const client = useQueryClient();
  const [passwordChanged, setPasswordChanged] = useState(false);
  return (
    <>
      <PageHeader title="My account" />
      <section className="panel" aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <dl className="facts">
          <dt>Username</dt>
          <dd>{me.username}</dd>
          <dt>Role</dt>
          <dd>{me.role}</dd>
          <dt>Two-factor</dt>
          <dd>{me.totpEnabled ? 'on' : 'off'}</dd>
        </dl>
      </section>
      <div className="grid">
        <section className="panel" aria-labelledby="password-heading">
          <h2 id="password-heading">Password</h2>
          <p className="muted">Changing it signs out your other sessions, RustDesk clients included.</p>
          {passwordChanged && (
            <p className="notice notice-ok" role="status">
              Your password was changed; your other sessions were signed out.
            </p>
          )}
          <ChangePasswordForm
            onDone={() => {
              setPasswordChanged(true);
              void client.invalidateQueries({ queryKey: SESSIONS_QUERY_KEY });
            }}
          />
        </section>
        <TwoFactorSection />
      </div>
      <SessionsSection />
    </>
  );
}
