import '../users/users.css';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';

import { api, unwrap } from '../../api/client';
import { useCan } from '../../auth/session';
import { useConfirmedAction } from '../../ui/confirmed-action';
import { CopyButton } from '../../ui/copy-button';
import { ErrorNotice } from '../../ui/error-notice';
import { FormToggle } from '../../ui/form-toggle';
import { endOfDayIso } from '../../ui/form-values';
import { formatTime } from '../../ui/format';
import { PageHeader } from '../../ui/page-header';
import { QueryState } from '../../ui/query-state';
import { ActionsHeader, RowButton } from '../../ui/row-actions';
import { SecretOnce } from '../../ui/secret-once';
import { TableWrap } from '../../ui/table-wrap';
import { type CreatedRegistrationToken, type RegistrationTokenView } from './tokens-types';

/**
 * The command that deploys a RustDesk client with a token: `--deploy` must be the first argument and
 * `--token` is required (rustdesk/rustdesk src/core_main.rs); run it as root / Administrator on an
 * installed client. docs/client-api.md §9.
 */
export function deployCommand(token: string): string {
  return `rustdesk --deploy --token ${token}`;
}

const STATUS_BADGES: Readonly<Record<RegistrationTokenView['status'], string>> = {
  active: 'badge badge-ok',
  revoked: 'badge badge-danger',
  expired: 'badge badge-warn',
  used_up: 'badge badge-warn',
};

/** Registration tokens: what lets `rustdesk --deploy` admit a new device (registration_token.manage). */
export function TokensPage() {
  const canManage = useCan('registration_token.manage');
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedRegistrationToken>();
  const { ask, dialog } = useConfirmedAction();
  const tokens = useQuery({
    queryKey: ['registration-tokens'],
    queryFn: () => unwrap(api.GET('/api/v1/registration-tokens')),
  });

  const revoke = (token: RegistrationTokenView) =>
    ask({
      title: `Revoke the registration token ${token.name}?`,
      confirmLabel: 'Revoke token',
      body: (
        <p>
          The token {token.name} (<code>sbr_{token.prefix}_…</code>, used {uses(token)}) can no longer deploy
          a device. Devices it already admitted stay. This cannot be undone.
        </p>
      ),
      run: () =>
        unwrap(api.DELETE('/api/v1/registration-tokens/{id}', { params: { path: { id: token.id } } })),
      invalidates: ['registration-tokens'],
    });

  return (
    <>
      <PageHeader
        title="Registration tokens"
        actions={
          canManage && (
            <FormToggle
              open={creating}
              onToggle={setCreating}
              label="New token"
              closeLabel="Close the new token form"
            />
          )
        }
      />
      <p className="subtle">
        A registration token lets <code>rustdesk --deploy</code> admit new devices when the registration
        policy asks for one. Each new device spends one use; deploying the same device again is free.
      </p>
      {created !== undefined && (
        <SecretOnce
          title={`New registration token ${created.name}`}
          secretLabel="Token"
          secret={created.token}
          onDone={() => setCreated(undefined)}
        >
          <p>On each device, as root or Administrator, with RustDesk installed, run:</p>
          <div className="secret-row">
            <code className="secret-value deploy-command" aria-label="Deploy command">
              {deployCommand(created.token)}
            </code>
            <CopyButton text={deployCommand(created.token)} label="Copy command" />
          </div>
          <p className="subtle">
            Add <code>--id</code> and an id to choose the device’s id.{' '}
            {created.maxUses === null ? 'Unlimited uses' : `Up to ${created.maxUses} devices`};{' '}
            {created.expiresAt === null ? 'it does not expire.' : `expires ${formatTime(created.expiresAt)}.`}
          </p>
        </SecretOnce>
      )}
      {creating && canManage && (
        <CreateTokenForm
          onCreated={(answer) => {
            setCreating(false);
            setCreated(answer);
          }}
        />
      )}
      <QueryState query={tokens} isEmpty={(data) => data.length === 0} empty="No registration tokens yet.">
        {(data) => (
          <TableWrap label="Registration tokens">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Uses</th>
                  <th scope="col" className="hide-narrow">
                    Expires
                  </th>
                  <th scope="col" className="hide-narrow">
                    Created
                  </th>
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {data.map((token) => (
                  <tr key={token.id}>
                    <td>
                      <strong>{token.name}</strong>
                      <div className="subtle">
                        <code>sbr_{token.prefix}_…</code>
                      </div>
                    </td>
                    <td>
                      <span className={STATUS_BADGES[token.status]}>{token.status.replace('_', ' ')}</span>
                    </td>
                    <td>{uses(token)}</td>
                    <td className="hide-narrow">{formatTime(token.expiresAt)}</td>
                    <td className="hide-narrow">
                      {formatTime(token.createdAt)}
                      {token.createdBy !== null && (
                        <div className="subtle">by {token.createdBy.username}</div>
                      )}
                    </td>
                    <td>
                      {canManage && token.status !== 'revoked' && (
                        <RowButton label={`Revoke ${token.name}`} onClick={() => revoke(token)}>
                          Revoke
                        </RowButton>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </QueryState>
      {dialog}
    </>
  );
}

function uses(token: RegistrationTokenView): string {
  return token.maxUses === null ? `${token.useCount} times` : `${token.useCount} of ${token.maxUses}`;
}

function CreateTokenForm({ onCreated }: { onCreated: (created: CreatedRegistrationToken) => void }) {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [maxUses, setMaxUses] = useState('');
  const [expiresOn, setExpiresOn] = useState('');
  const create = useMutation({
    mutationFn: (body: { name: string; maxUses: number | null; expiresAt: string | null }) =>
      unwrap(api.POST('/api/v1/registration-tokens', { body })),
    onSuccess: async (answer) => {
      onCreated(answer);
      await client.invalidateQueries({ queryKey: ['registration-tokens'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({
      name: name.trim(),
      maxUses: maxUses.trim() === '' ? null : Number(maxUses),
      expiresAt: expiresOn === '' ? null : endOfDayIso(expiresOn),
    });
  };
  return (
    <section className="panel" aria-labelledby="new-token-title">
      <h2 id="new-token-title">New registration token</h2>
      <form className="form" onSubmit={submit}>
        <label>
          Name (where it is used)
          <input value={name} onChange={(event) => setName(event.target.value)} maxLength={128} required />
        </label>
        <div className="form-row">
          <label>
            Most devices (optional; empty: unlimited)
            <input
              type="number"
              inputMode="numeric"
              min={1}
              max={1_000_000}
              step={1}
              value={maxUses}
              onChange={(event) => setMaxUses(event.target.value)}
            />
          </label>
          <label>
            Expires on (optional; empty: never)
            <input type="date" value={expiresOn} onChange={(event) => setExpiresOn(event.target.value)} />
          </label>
        </div>
        {create.error !== null && <ErrorNotice error={create.error} title="Not created" />}
        <div>
          <button type="submit" className="button-primary" disabled={create.isPending || name.trim() === ''}>
            {create.isPending ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </form>
    </section>
  );
}
