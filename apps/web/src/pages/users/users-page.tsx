import './users.css';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useSearchParams } from 'react-router';

import { isApiError } from '../../api/api-error';
import { api, unwrap } from '../../api/client';
import { useCan } from '../../auth/session';
import { formatTime } from '../../ui/format';
import { PageHeader } from '../../ui/page-header';
import { Pager } from '../../ui/pager';
import { QueryState } from '../../ui/query-state';
import { TableWrap } from '../../ui/table-wrap';
import { isUserRole } from './roles';
import { FormToggle } from '../../ui/form-toggle';
import { SecretOnce } from '../../ui/secret-once';
import { CreateUserForm } from './create-user-form';
import { UserPanel } from './user-panel';
import { type OneTimePassword, USER_ROLES } from './users-types';

const PAGE_SIZE = 25;

/**
 * Users: the list (search, role and status filters, paged by the api), a new user with a generated
 * one-time password shown once, and the chosen user's panel. Only `user.manage` sees the controls.
 */
export function UsersPage() {
  const canManage = useCan('user.manage');
  const [params, setParams] = useSearchParams();
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<OneTimePassword>();

  const search = params.get('search') ?? '';
  const role = params.get('role') ?? '';
  const status = params.get('status') ?? '';
  const page = Math.max(1, Number(params.get('page')) || 1);
  const selected = params.get('user');

  const change = (next: Record<string, string | null>) => {
    const merged = new URLSearchParams(params);
    for (const [key, value] of Object.entries(next)) {
      if (value === null || value === '') merged.delete(key);
      else merged.set(key, value);
    }
    setParams(merged);
  };

  const list = useQuery({
    queryKey: ['users', 'list', { search, role, status, page }],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/users', {
          params: {
            query: {
              page,
              pageSize: PAGE_SIZE,
              ...(search === '' ? {} : { search }),
              ...(isUserRole(role) ? { role } : {}),
              ...(status === 'disabled' || status === 'enabled'
                ? { disabled: status === 'disabled' ? 'true' : 'false' }
                : {}),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  const submitSearch = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = new FormData(event.currentTarget).get('search');
    change({ search: typeof value === 'string' ? value.trim() : '', page: null });
  };

  return (
    <>
      <PageHeader
        title="Users"
        actions={
          canManage && (
            <FormToggle
              open={creating}
              onToggle={setCreating}
              label="New user"
              closeLabel="Close the new user form"
            />
          )
        }
      />
      {!canManage && list.data !== undefined && (
        <p className="notice">You can see users but not change them.</p>
      )}
      {secret !== undefined && (
        <SecretOnce
          title={
            secret.why === 'created'
              ? `One-time password for the new user ${secret.username}`
              : `New one-time password for ${secret.username}`
          }
          secretLabel="One-time password"
          secret={secret.password}
          onDone={() => setSecret(undefined)}
        >
          <p>
            Give it to {secret.username} in person; they must choose their own password when they sign in.
          </p>
        </SecretOnce>
      )}
      {creating && canManage && (
        <CreateUserForm
          onCreated={(created) => {
            setCreating(false);
            if (created.oneTimePassword !== undefined) {
              setSecret({
                username: created.user.username,
                password: created.oneTimePassword,
                why: 'created',
              });
            }
            change({ user: created.user.id });
          }}
        />
      )}

      {/* Refused outright (no user.view): the api's 403 below says so, with nothing to filter. */}
      {!isApiError(list.error, 403) && (
        <form className="toolbar" role="search" onSubmit={submitSearch} key={search}>
          <label className="grow">
            Search
            <input name="search" type="search" defaultValue={search} placeholder="Username, name or email" />
          </label>
          <button type="submit">Search</button>
          <label>
            Role
            <select value={role} onChange={(event) => change({ role: event.target.value, page: null })}>
              <option value="">Any role</option>
              {USER_ROLES.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </label>
          <label>
            Status
            <select value={status} onChange={(event) => change({ status: event.target.value, page: null })}>
              <option value="">Any status</option>
              <option value="enabled">Enabled</option>
              <option value="disabled">Disabled</option>
            </select>
          </label>
        </form>
      )}

      {selected !== null && (
        <UserPanel
          key={selected}
          id={selected}
          canManage={canManage}
          onClose={() => change({ user: null })}
          onSecret={setSecret}
        />
      )}

      <p id="users-row-hint" className="visually-hidden">
        {canManage ? 'Opens the user, to manage them' : 'Opens the user'}
      </p>
      <QueryState
        query={list}
        isEmpty={(data) => data.items.length === 0}
        empty={search === '' && role === '' && status === '' ? 'No users yet.' : 'No user matches.'}
      >
        {(data) => (
          <>
            <TableWrap label="Users">
              <table>
                <thead>
                  <tr>
                    <th scope="col">User</th>
                    <th scope="col">Role</th>
                    <th scope="col">2FA</th>
                    <th scope="col" className="hide-narrow">
                      Last sign-in
                    </th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((user) => (
                    <tr
                      key={user.id}
                      className={user.id === selected ? 'selected' : undefined}
                      aria-current={user.id === selected ? 'true' : undefined}
                    >
                      <td>
                        <button
                          type="button"
                          className="link-button row-link"
                          aria-describedby="users-row-hint"
                          onClick={() => change({ user: user.id })}
                        >
                          {user.username}
                        </button>
                        {user.displayName !== null && <div className="subtle">{user.displayName}</div>}
                      </td>
                      <td>{user.role}</td>
                      <td>
                        {user.totpEnabled ? (
                          <span className="badge badge-ok">on</span>
                        ) : (
                          <span className="badge">off</span>
                        )}
                      </td>
                      <td className="hide-narrow">{formatTime(user.lastLoginAt)}</td>
                      <td>
                        {user.disabled ? (
                          <span className="badge badge-danger">disabled</span>
                        ) : (
                          <span className="badge badge-ok">enabled</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
            <Pager list={data} label="Pages of users" onPage={(next) => change({ page: String(next) })} />
          </>
        )}
      </QueryState>
    </>
  );
}
