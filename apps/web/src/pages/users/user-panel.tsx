import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';

import { api, unwrap } from '../../api/client';
import { useSignedIn } from '../../auth/session';
import { ConfirmDialog } from '../../ui/confirm-dialog';
import { ErrorNotice } from '../../ui/error-notice';
import { formatTime } from '../../ui/format';
import { QueryState } from '../../ui/query-state';
import { ActionsHeader } from '../../ui/row-actions';
import { TableWrap } from '../../ui/table-wrap';
import { isUserRole, ROLE_HINTS, rolesWithin } from './roles';
import { type OneTimePassword, type SessionView, type UserView } from './users-types';

type Action =
  | { kind: 'disable' | 'enable' | 'reset' | 'clear-2fa' | 'delete' }
  | { kind: 'end-sessions'; sessions: readonly SessionView[] };

/** One user: facts, role, the account actions (each confirmed, naming the user) and their sessions. */
export function UserPanel({
  id,
  canManage,
  onClose,
  onSecret,
}: {
  id: string;
  canManage: boolean;
  onClose: () => void;
  onSecret: (secret: OneTimePassword) => void;
}) {
  const me = useSignedIn();
  const client = useQueryClient();
  const heading = useRef<HTMLHeadingElement>(null);
  const [pending, setPending] = useState<Action>();
  const [notice, setNotice] = useState<string>();

  // Chosen from the list below: bring the panel into view for keyboard and phone users.
  useEffect(() => heading.current?.focus(), []);

  const user = useQuery({
    queryKey: ['users', 'one', id],
    queryFn: () => unwrap(api.GET('/api/v1/users/{id}', { params: { path: { id } } })),
  });
  const sessions = useQuery({
    queryKey: ['users', 'sessions', id],
    queryFn: async () =>
      (await unwrap(api.GET('/api/v1/users/{id}/sessions', { params: { path: { id } } }))).sessions,
    enabled: user.isSuccess,
  });

  const act = useMutation({
    mutationFn: async (action: Action): Promise<string | undefined> => {
      const path = { params: { path: { id } } };
      switch (action.kind) {
        case 'disable':
          await unwrap(api.POST('/api/v1/users/{id}/disable', path));
          return 'disabled';
        case 'enable':
          await unwrap(api.POST('/api/v1/users/{id}/enable', path));
          return 'enabled';
        case 'reset': {
          const answer = await unwrap(api.POST('/api/v1/users/{id}/reset-password', { ...path, body: {} }));
          if (answer.oneTimePassword !== undefined) {
            onSecret({ username: answer.user.username, password: answer.oneTimePassword, why: 'reset' });
          }
          return 'given a new one-time password';
        }
        case 'clear-2fa':
          await unwrap(api.POST('/api/v1/users/{id}/clear-second-factor', path));
          return 'no longer asked for a second factor';
        case 'delete':
          await unwrap(api.DELETE('/api/v1/users/{id}', path));
          return undefined;
        case 'end-sessions':
          // The api ends one session per call, each its own audit entry.
          for (const session of action.sessions) {
            await unwrap(
              api.DELETE('/api/v1/users/{id}/sessions/{sessionId}', {
                params: { path: { id, sessionId: session.id } },
              }),
            );
          }
          return `signed out of ${sessionCount(action.sessions.length)}`;
      }
    },
    onSuccess: (done, action) => {
      setPending(undefined);
      if (action.kind === 'delete') onClose();
      else if (done !== undefined && user.data !== undefined) setNotice(`${user.data.username} was ${done}.`);
    },
    onSettled: (_done, error, action) =>
      client.invalidateQueries({
        queryKey: ['users'],
        // A deleted user's own queries would only answer 404 now.
        predicate: (query) => error !== null || action.kind !== 'delete' || !query.queryKey.includes(id),
      }),
  });

  const ask = (action: Action) => {
    act.reset();
    setNotice(undefined);
    setPending(action);
  };

  return (
    <section className="panel detail" aria-labelledby="user-panel-title">
      <div className="panel-head">
        <h2 id="user-panel-title" ref={heading} tabIndex={-1}>
          {user.data?.username ?? 'User'}
        </h2>
        <button type="button" className="button-small" onClick={onClose}>
          Close
        </button>
      </div>
      <QueryState query={user}>
        {(data) => (
          <>
            {notice !== undefined && (
              <p className="notice notice-ok" role="status">
                {notice}
              </p>
            )}
            <dl className="facts">
              <dt>Display name</dt>
              <dd>{data.displayName ?? '—'}</dd>
              <dt>Email</dt>
              <dd>{data.email ?? '—'}</dd>
              <dt>Role</dt>
              <dd>{data.role}</dd>
              <dt>Status</dt>
              <dd>{data.disabled ? 'disabled' : 'enabled'}</dd>
              <dt>Two-factor</dt>
              <dd>{data.totpEnabled ? 'on' : 'off'}</dd>
              <dt>Password</dt>
              <dd>
                changed {formatTime(data.passwordChangedAt)}
                {data.passwordMustChange && ' (must be changed at next sign-in)'}
              </dd>
              <dt>Last sign-in</dt>
              <dd>{formatTime(data.lastLoginAt)}</dd>
              <dt>Created</dt>
              <dd>{formatTime(data.createdAt)}</dd>
            </dl>
            {canManage && (
              <>
                <RoleForm user={data} ceiling={me.role} />
                <div className="panel-actions">
                  {data.disabled ? (
                    <button type="button" onClick={() => ask({ kind: 'enable' })}>
                      Enable
                    </button>
                  ) : (
                    <button type="button" onClick={() => ask({ kind: 'disable' })}>
                      Disable
                    </button>
                  )}
                  <button type="button" onClick={() => ask({ kind: 'reset' })}>
                    Reset password
                  </button>
                  {data.totpEnabled && data.id !== me.id && (
                    <button type="button" onClick={() => ask({ kind: 'clear-2fa' })}>
                      Turn off 2FA
                    </button>
                  )}
                  <button type="button" className="button-danger" onClick={() => ask({ kind: 'delete' })}>
                    Delete
                  </button>
                </div>
              </>
            )}
            <h3>Sessions</h3>
            <QueryState
              query={sessions}
              isEmpty={(list) => list.length === 0}
              empty={`${data.username} is not signed in anywhere.`}
            >
              {(list) => (
                <>
                  <TableWrap label={`Sessions of ${data.username}`}>
                    <table>
                      <thead>
                        <tr>
                          <th scope="col">Where</th>
                          <th scope="col" className="hide-narrow">
                            From
                          </th>
                          <th scope="col">Last seen</th>
                          {canManage && <ActionsHeader />}
                        </tr>
                      </thead>
                      <tbody>
                        {list.map((session) => (
                          <tr key={session.id}>
                            <td>
                              {describeSession(session)}
                              {session.current && <span className="badge">this browser</span>}
                            </td>
                            <td className="hide-narrow">
                              {session.ip ?? '—'}
                              {session.userAgent !== null && (
                                <div className="subtle">{session.userAgent}</div>
                              )}
                            </td>
                            <td>{formatTime(session.lastSeenAt)}</td>
                            {canManage && (
                              <td>
                                <button
                                  type="button"
                                  className="button-small"
                                  onClick={() => ask({ kind: 'end-sessions', sessions: [session] })}
                                >
                                  End
                                </button>
                              </td>
                            )}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </TableWrap>
                  {canManage && list.length > 1 && (
                    <div className="panel-actions">
                      <button type="button" onClick={() => ask({ kind: 'end-sessions', sessions: list })}>
                        End all {list.length} sessions
                      </button>
                    </div>
                  )}
                </>
              )}
            </QueryState>
            {pending !== undefined && (
              <ConfirmDialog
                open
                busy={act.isPending}
                danger={pending.kind !== 'enable'}
                {...confirmText(pending, data, sessions.data?.length)}
                onConfirm={() => act.mutate(pending)}
                onCancel={() => setPending(undefined)}
              >
                {confirmText(pending, data, sessions.data?.length).body}
                {act.error !== null && <ErrorNotice error={act.error} title="Refused" />}
              </ConfirmDialog>
            )}
          </>
        )}
      </QueryState>
    </section>
  );
}

function RoleForm({ user, ceiling }: { user: UserView; ceiling: string }) {
  const client = useQueryClient();
  const roles = rolesWithin(ceiling);
  const [role, setRole] = useState<string>(user.role);
  const change = useMutation({
    mutationFn: async (next: string) => {
      if (!isUserRole(next)) throw new Error(`Not a role: ${next}`);
      return await unwrap(
        api.PATCH('/api/v1/users/{id}', { params: { path: { id: user.id } }, body: { role: next } }),
      );
    },
    onSettled: () => client.invalidateQueries({ queryKey: ['users'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    change.mutate(role);
  };
  return (
    <form className="toolbar role-form" onSubmit={submit}>
      <label className="grow">
        Role of {user.username}
        <select value={role} onChange={(event) => setRole(event.target.value)}>
          {/* A role above the caller's ceiling stays visible as the current one, not as a choice. */}
          {!roles.includes(user.role) && <option value={user.role}>{user.role}</option>}
          {roles.map((value) => (
            <option key={value} value={value}>
              {value} ({ROLE_HINTS[value]})
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={change.isPending || role === user.role}>
        Change role
      </button>
      {change.data !== undefined && (
        <span role="status" className="subtle">
          Role changed to {change.data.role}.
        </span>
      )}
      {change.error !== null && <ErrorNotice error={change.error} title="Role not changed" />}
    </form>
  );
}

function sessionCount(count: number): string {
  return count === 1 ? '1 session' : `${count} sessions`;
}

function describeSession(session: SessionView): string {
  if (session.kind === 'browser') return 'Console (browser) ';
  const client = session.client;
  const name = client?.name ?? client?.id ?? 'unknown device';
  return `RustDesk client: ${name}${client?.os !== null && client?.os !== undefined ? ` (${client.os})` : ''} `;
}

function confirmText(
  action: Action,
  user: UserView,
  sessions: number | undefined,
): { title: string; confirmLabel: string; body: ReactNode } {
  const name = user.username;
  const signedOut =
    sessions === undefined || sessions === 0
      ? `${name} is signed out everywhere`
      : sessions === 1
        ? `${name}'s one session ends`
        : `${name}'s ${sessions} sessions end`;
  switch (action.kind) {
    case 'disable':
      return {
        title: `Disable ${name}?`,
        confirmLabel: `Disable ${name}`,
        body: (
          <p>
            {signedOut}, they cannot sign in and their API keys stop working until they are enabled again.
          </p>
        ),
      };
    case 'enable':
      return {
        title: `Enable ${name}?`,
        confirmLabel: `Enable ${name}`,
        body: <p>{name} can sign in again with their password; API keys not revoked work again.</p>,
      };
    case 'reset':
      return {
        title: `Reset the password of ${name}?`,
        confirmLabel: 'Reset password',
        body: (
          <p>
            A new one-time password is generated and shown to you once; {name} must change it at the next
            sign-in. {signedOut}.
          </p>
        ),
      };
    case 'clear-2fa':
      return {
        title: `Turn off two-factor authentication for ${name}?`,
        confirmLabel: 'Turn off 2FA',
        body: (
          <p>
            Their authenticator and recovery codes stop working; the password stays. {signedOut}. Use this
            when they lost their authenticator.
          </p>
        ),
      };
    case 'delete':
      return {
        title: `Delete ${name}?`,
        confirmLabel: `Delete ${name}`,
        body: (
          <p>
            The account {name} ({user.role}) is deleted for good: {signedOut}, their API keys are revoked and
            they leave every group. This cannot be undone.
          </p>
        ),
      };
    case 'end-sessions':
      return {
        title: `End ${sessionCount(action.sessions.length)} of ${name}?`,
        confirmLabel: action.sessions.length === 1 ? 'End session' : `End ${action.sessions.length} sessions`,
        body: (
          <p>
            {name} is signed out of {action.sessions.map(describeSession).join(', ').trim()}; a RustDesk
            client signs out at its next call. The account stays as it is.
          </p>
        ),
      };
  }
}
