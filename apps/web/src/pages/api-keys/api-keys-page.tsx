import '../users/users.css';

import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useSearchParams } from 'react-router';

import { api, unwrap } from '../../api/client';
import { useCan, useSignedIn } from '../../auth/session';
import { useConfirmedAction } from '../../ui/confirmed-action';
import { ErrorNotice } from '../../ui/error-notice';
import { endOfDayIso } from '../../ui/form-values';
import { formatTime } from '../../ui/format';
import { PageHeader } from '../../ui/page-header';
import { Pager } from '../../ui/pager';
import { QueryState } from '../../ui/query-state';
import { TableWrap } from '../../ui/table-wrap';
import { isUserRole, ROLE_HINTS, rolesWithin } from '../users/roles';
import { FormToggle } from '../../ui/form-toggle';
import { ActionsHeader, RowButton } from '../../ui/row-actions';
import { SecretOnce } from '../../ui/secret-once';
import { type ApiKeyView, type CreatedApiKey } from './api-keys-types';

const PAGE_SIZE = 25;
const DAY_MS = 86_400_000;

type Expiry = 'default' | '30' | '90' | '365' | 'date';

/**
 * API keys: one's own (self-service), everyone's with `api_key.manage_all`. A new key is shown once;
 * its role can be no higher than its creator's.
 */
export function ApiKeysPage() {
  const canSeeAll = useCan('api_key.manage_all');
  const [params, setParams] = useSearchParams();
  const all = canSeeAll && params.get('all') === '1';
  const page = Math.max(1, Number(params.get('page')) || 1);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey>();
  const { ask, dialog } = useConfirmedAction();
  const change = (next: Record<string, string | null>) => {
    const merged = new URLSearchParams(params);
    for (const [key, value] of Object.entries(next)) {
      if (value === null) merged.delete(key);
      else merged.set(key, value);
    }
    setParams(merged);
  };

  const keys = useQuery({
    queryKey: ['api-keys', { all, page }],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/api-keys', {
          params: { query: { page, pageSize: PAGE_SIZE, ...(all ? { all: 'true' as const } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  const revoke = (key: ApiKeyView) =>
    ask({
      title: `Revoke the API key ${key.name}?`,
      confirmLabel: 'Revoke key',
      body: (
        <p>
          The key {key.name} (<code>sbk_{key.prefix}_…</code>, role {key.role}
          {key.ownerUsername !== null ? `, of ${key.ownerUsername}` : ''}) stops working at once; every script
          using it is refused from now on. This cannot be undone.
        </p>
      ),
      run: () => unwrap(api.DELETE('/api/v1/api-keys/{id}', { params: { path: { id: key.id } } })),
      invalidates: ['api-keys'],
    });

  return (
    <>
      <PageHeader
        title="API keys"
        actions={
          <FormToggle
            open={creating}
            onToggle={setCreating}
            label="New API key"
            closeLabel="Close the new key form"
          />
        }
      />
      <p className="subtle">
        Scripts send a key in the <code>X-API-Key</code> header. A key acts with its own role, never above its
        owner’s, and stops working when revoked, expired or when its owner is disabled.
      </p>
      {created !== undefined && (
        <SecretOnce
          title={`New API key ${created.apiKey.name}`}
          secretLabel="API key"
          secret={created.key}
          onDone={() => setCreated(undefined)}
        >
          <p>
            Role {created.apiKey.role};{' '}
            {created.apiKey.expiresAt === null
              ? 'it does not expire.'
              : `it expires ${formatTime(created.apiKey.expiresAt)}.`}
          </p>
        </SecretOnce>
      )}
      {creating && (
        <CreateKeyForm
          onCreated={(answer) => {
            setCreating(false);
            setCreated(answer);
            change({ page: null, all: null });
          }}
        />
      )}
      {canSeeAll && (
        <div className="toolbar">
          <label>
            Show
            <select
              value={all ? '1' : ''}
              onChange={(event) => change({ all: event.target.value || null, page: null })}
            >
              <option value="">My keys</option>
              <option value="1">Everyone’s keys</option>
            </select>
          </label>
        </div>
      )}
      <h2>{all ? 'Everyone’s keys' : 'My keys'}</h2>
      <QueryState query={keys} isEmpty={(data) => data.items.length === 0} empty="No API keys yet.">
        {(data) => (
          <>
            <TableWrap label={all ? 'Everyone’s API keys' : 'My API keys'}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    {all && <th scope="col">Owner</th>}
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col" className="hide-narrow">
                      Expires
                    </th>
                    <th scope="col" className="hide-narrow">
                      Last used
                    </th>
                    <ActionsHeader />
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((key) => (
                    <tr key={key.id}>
                      <td>
                        <strong>{key.name}</strong>
                        <div className="subtle">
                          <code>sbk_{key.prefix}_…</code>
                        </div>
                      </td>
                      {all && <td>{key.ownerUsername ?? '(deleted user)'}</td>}
                      <td>{key.role}</td>
                      <td>
                        <span className={key.status === 'active' ? 'badge badge-ok' : 'badge badge-danger'}>
                          {key.status}
                        </span>
                      </td>
                      <td className="hide-narrow">{formatTime(key.expiresAt)}</td>
                      <td className="hide-narrow">
                        {formatTime(key.lastUsedAt)}
                        {key.lastUsedIp !== null && <div className="subtle">{key.lastUsedIp}</div>}
                      </td>
                      <td>
                        {key.status === 'active' && (
                          <RowButton label={`Revoke ${key.name}`} onClick={() => revoke(key)}>
                            Revoke
                          </RowButton>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
            <Pager list={data} label="Pages of API keys" onPage={(next) => change({ page: String(next) })} />
          </>
        )}
      </QueryState>
      {dialog}
    </>
  );
}

function CreateKeyForm({ onCreated }: { onCreated: (created: CreatedApiKey) => void }) {
  const me = useSignedIn();
  const client = useQueryClient();
  const roles = rolesWithin(me.role);
  const [name, setName] = useState('');
  const [role, setRole] = useState(isUserRole(me.role) ? me.role : (roles[0] ?? 'viewer'));
  const [expiry, setExpiry] = useState<Expiry>('default');
  const [date, setDate] = useState('');
  const create = useMutation({
    mutationFn: async (body: { name: string; role: string; expiresAt?: string }) => {
      if (!isUserRole(body.role)) throw new Error(`Not a role: ${body.role}`);
      return await unwrap(api.POST('/api/v1/api-keys', { body: { ...body, role: body.role } }));
    },
    onSuccess: async (answer) => {
      onCreated(answer);
      await client.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    let expiresAt: string | undefined;
    if (expiry === 'date' && date !== '') expiresAt = endOfDayIso(date);
    else if (expiry !== 'default' && expiry !== 'date') {
      expiresAt = new Date(Date.now() + Number(expiry) * DAY_MS).toISOString();
    }
    create.mutate({ name: name.trim(), role, ...(expiresAt === undefined ? {} : { expiresAt }) });
  };

  return (
    <section className="panel" aria-labelledby="new-key-title">
      <h2 id="new-key-title">New API key</h2>
      <form className="form" onSubmit={submit}>
        <label>
          Name (what uses it)
          <input value={name} onChange={(event) => setName(event.target.value)} maxLength={128} required />
        </label>
        <label>
          Role
          <select value={role} onChange={(event) => setRole(event.target.value as typeof role)}>
            {roles.map((value) => (
              <option key={value} value={value}>
                {value} ({ROLE_HINTS[value]})
              </option>
            ))}
          </select>
        </label>
        <div className="form-row">
          <label>
            Expires
            <select value={expiry} onChange={(event) => setExpiry(event.target.value as Expiry)}>
              <option value="default">After the server’s default time</option>
              <option value="30">In 30 days</option>
              <option value="90">In 90 days</option>
              <option value="365">In a year</option>
              <option value="date">On a date…</option>
            </select>
          </label>
          {expiry === 'date' && (
            <label>
              Expiry date
              <input type="date" value={date} onChange={(event) => setDate(event.target.value)} required />
            </label>
          )}
        </div>
        {create.error !== null && <ErrorNotice error={create.error} title="Not created" />}
        <div>
          <button
            type="submit"
            className="button-primary"
            disabled={create.isPending || name.trim() === '' || (expiry === 'date' && date === '')}
          >
            {create.isPending ? 'Creating…' : 'Create key'}
          </button>
        </div>
      </form>
    </section>
  );
}
