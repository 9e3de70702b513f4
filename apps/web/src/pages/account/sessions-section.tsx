import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';

import { api, unwrap } from '../../api/client';
import { ME_QUERY_KEY } from '../../auth/session';
import { ConfirmDialog } from '../../ui/confirm-dialog';
import { ErrorNotice } from '../../ui/error-notice';
import { formatAgo, formatTime } from '../../ui/format';
import { QueryState } from '../../ui/query-state';
import { ActionsHeader, RowButton } from '../../ui/row-actions';
import { TableWrap } from '../../ui/table-wrap';
import { type AccountSession } from './account-types';

export const SESSIONS_QUERY_KEY = ['sessions'] as const;

/** "Chrome on Linux" from a user agent: enough to tell one's own browsers apart. */
export function describeUserAgent(userAgent: string | null): string {
  if (userAgent === null || userAgent === '') return 'Unknown browser';
  const browser =
    /\b(Edg|OPR|Firefox|HeadlessChrome|Chromium|Chrome|Safari)\//.exec(userAgent)?.[1] ?? 'Browser';
  const os = /\b(Windows|Android|iPhone|iPad|Mac OS X|CrOS|Linux)\b/.exec(userAgent)?.[1];
  const names: Record<string, string> = {
    HeadlessChrome: 'Chrome',
    Edg: 'Edge',
    OPR: 'Opera',
    'Mac OS X': 'macOS',
    CrOS: 'ChromeOS',
  };
  const name = names[browser] ?? browser;
  return os === undefined ? name : `${name} on ${names[os] ?? os}`;
}

function describe(session: AccountSession): string {
  if (session.kind === 'client') {
    const client = session.client;
    const parts = [client?.name, client?.os].filter((part) => part !== null && part !== undefined);
    const id = client?.id === null || client?.id === undefined ? '' : ` (id ${client.id})`;
    return `RustDesk client${parts.length === 0 ? '' : ` on ${parts.join(', ')}`}${id}`;
  }
  return `Console: ${describeUserAgent(session.userAgent)}`;
}

/** My console and RustDesk client logins; ending one signs it out (ending this one signs me out). */
export function SessionsSection() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [ending, setEnding] = useState<AccountSession>();
  const query = useQuery({
    queryKey: SESSIONS_QUERY_KEY,
    queryFn: async () => (await unwrap(api.GET('/api/v1/auth/sessions'))).sessions,
  });
  const end = useMutation({
    mutationFn: (session: AccountSession) =>
      unwrap(api.DELETE('/api/v1/auth/sessions/{id}', { params: { path: { id: session.id } } })),
    onSuccess: async (_answer, session) => {
      setEnding(undefined);
      if (session.current) {
        // This browser's own session: signed out. Leave the signed-in pages first, then drop what
        // they cached, so no mounted query refetches with the dead session.
        client.setQueryData(ME_QUERY_KEY, null);
        await navigate('/sign-in', { replace: true });
        client.removeQueries({ predicate: (query) => query.queryKey[0] !== ME_QUERY_KEY[0] });
        return;
      }
      await client.invalidateQueries({ queryKey: SESSIONS_QUERY_KEY });
    },
  });

  return (
    <section className="panel" aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">My sessions</h2>
      <p className="muted">
        Where you are signed in: console browsers and RustDesk clients logged in with your account.
      </p>
      {end.error !== null && <ErrorNotice error={end.error} title="Could not end the session" />}
      <QueryState query={query} isEmpty={(sessions) => sessions.length === 0} empty="No active sessions.">
        {(sessions) => (
          <TableWrap label="My sessions table">
            <table className="account-sessions" aria-label="My sessions">
              <thead>
                <tr>
                  <th scope="col">Session</th>
                  <th scope="col" className="hide-narrow">
                    IP
                  </th>
                  <th scope="col" className="hide-narrow">
                    Signed in
                  </th>
                  <th scope="col">Last active</th>
                  <th scope="col" className="hide-narrow">
                    Expires
                  </th>
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {sessions.map((session) => (
                  <tr key={session.id}>
                    <td>
                      {describe(session)}
                      {session.current && (
                        <>
                          {' '}
                          <span className="badge badge-ok">this browser</span>
                        </>
                      )}
                    </td>
                    <td className="hide-narrow mono account-nowrap">{session.ip ?? ''}</td>
                    <td className="hide-narrow">{formatTime(session.createdAt)}</td>
                    <td>{formatAgo(session.lastSeenAt)}</td>
                    <td className="hide-narrow">{formatTime(session.expiresAt)}</td>
                    <td>
                      <RowButton
                        label={`End session: ${describe(session)}${session.current ? ' (this browser)' : ''}`}
                        onClick={() => setEnding(session)}
                      >
                        End
                      </RowButton>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </QueryState>
      <ConfirmDialog
        open={ending !== undefined}
        title={ending?.current === true ? 'Sign out of this browser?' : 'End this session?'}
        confirmLabel={ending?.current === true ? 'End and sign out' : 'End session'}
        danger
        busy={end.isPending}
        onConfirm={() => {
          if (ending !== undefined) end.mutate(ending);
        }}
        onCancel={() => setEnding(undefined)}
      >
        {ending === undefined ? null : ending.current ? (
          <p>This is the session you are using now: you will be signed out and back at the sign-in page.</p>
        ) : (
          <p>
            <strong>{describe(ending)}</strong>
            {ending.ip !== null && <> from {ending.ip}</>}, last active {formatAgo(ending.lastSeenAt)}, will
            be signed out{ending.kind === 'client' ? ' at its next call to the server' : ''}.
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}
