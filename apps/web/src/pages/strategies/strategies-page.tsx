import '../users/users.css';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, Fragment, useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';

import { api, unwrap } from '../../api/client';
import { useCan } from '../../auth/session';
import { type PendingAction, useConfirmedAction } from '../../ui/confirmed-action';
import { ErrorNotice } from '../../ui/error-notice';
import { FormToggle } from '../../ui/form-toggle';
import { formatTime } from '../../ui/format';
import { PageHeader } from '../../ui/page-header';
import { QueryState } from '../../ui/query-state';
import { ActionsHeader, RowButton } from '../../ui/row-actions';
import { TableWrap } from '../../ui/table-wrap';
import { type StrategyView, type TargetKind } from './strategies-types';
import { type StrategyDraft, StrategyForm } from './strategy-form';

const TARGET_LABELS: Readonly<Record<TargetKind, string>> = {
  device: 'Device (RustDesk id)',
  user: 'User (username)',
  deviceGroup: 'Device group',
};

/**
 * Strategies: named sets of RustDesk client options that heartbeats push to devices, assigned to a
 * device, a user's devices or a device group. `strategy.manage` edits; `device.view` reads.
 */
export function StrategiesPage() {
  const canManage = useCan('strategy.manage');
  const client = useQueryClient();
  const [params, setParams] = useSearchParams();
  const selected = params.get('strategy');
  const [creating, setCreating] = useState(false);
  const { ask, dialog } = useConfirmedAction();
  const select = (id: string | null) => {
    const next = new URLSearchParams(params);
    if (id === null) next.delete('strategy');
    else next.set('strategy', id);
    setParams(next);
  };

  const strategies = useQuery({
    queryKey: ['strategies', 'list'],
    queryFn: () => unwrap(api.GET('/api/v1/strategies')),
  });
  const create = useMutation({
    mutationFn: (draft: StrategyDraft) => unwrap(api.POST('/api/v1/strategies', { body: draft })),
    onSuccess: async (created) => {
      setCreating(false);
      select(created.id);
      await client.invalidateQueries({ queryKey: ['strategies'] });
    },
  });
  const chosen = strategies.data?.find((strategy) => strategy.id === selected);

  return (
    <>
      <PageHeader
        title="Strategies"
        actions={
          canManage && (
            <FormToggle
              open={creating}
              onToggle={setCreating}
              label="New strategy"
              closeLabel="Close the new strategy form"
            />
          )
        }
      />
      <p className="subtle">
        A strategy sets RustDesk client options on the devices it is assigned to, at their next heartbeat. A
        device’s own assignment wins over its owner’s, which wins over its device group’s.
      </p>
      {creating && canManage && (
        <section className="panel" aria-labelledby="new-strategy-title">
          <h2 id="new-strategy-title">New strategy</h2>
          <StrategyForm
            submitLabel="Create strategy"
            busy={create.isPending}
            error={create.error}
            onSubmit={(draft) => create.mutate(draft)}
          />
        </section>
      )}
      {chosen !== undefined && (
        <StrategyPanel key={chosen.id} strategy={chosen} ask={ask} onClose={() => select(null)} />
      )}
      <QueryState
        query={strategies}
        isEmpty={(data) => data.length === 0}
        empty="No strategies yet: devices keep their own options."
      >
        {(data) => (
          <TableWrap label="Strategies">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Options</th>
                  <th scope="col" className="hide-narrow">
                    Changed
                  </th>
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {data.map((strategy) => {
                  const keys = Object.keys(strategy.options);
                  return (
                    <tr
                      key={strategy.id}
                      className={strategy.id === selected ? 'selected' : undefined}
                      aria-current={strategy.id === selected ? 'true' : undefined}
                    >
                      <td>
                        <strong>{strategy.name}</strong>
                        {strategy.note !== null && <div className="subtle">{strategy.note}</div>}
                      </td>
                      <td>
                        {keys.length}
                        {keys.length > 0 && (
                          <span className="subtle hide-narrow">
                            {' '}
                            ({keys.slice(0, 3).join(', ')}
                            {keys.length > 3 ? ', …' : ''})
                          </span>
                        )}
                      </td>
                      <td className="hide-narrow">{formatTime(strategy.updatedAt)}</td>
                      <td>
                        <RowButton
                          label={`${canManage ? 'Edit' : 'Show'} ${strategy.name}`}
                          onClick={() => select(strategy.id)}
                        >
                          {canManage ? 'Edit' : 'Show'}
                        </RowButton>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        )}
      </QueryState>
      {dialog}
    </>
  );
}

function StrategyPanel({
  strategy,
  ask,
  onClose,
}: {
  strategy: StrategyView;
  ask: (action: PendingAction) => void;
  onClose: () => void;
}) {
  const canManage = useCan('strategy.manage');
  const client = useQueryClient();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const save = useMutation({
    mutationFn: (draft: StrategyDraft) =>
      unwrap(
        api.PATCH('/api/v1/strategies/{id}', {
          params: { path: { id: strategy.id } },
          body: { name: draft.name, note: draft.note, options: draft.options },
        }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: ['strategies'] }),
  });
  const options = Object.entries(strategy.options);

  return (
    <section className="panel detail" aria-labelledby="strategy-title">
      <div className="panel-head">
        <h2 id="strategy-title" ref={heading} tabIndex={-1}>
          Strategy {strategy.name}
        </h2>
        <button type="button" className="button-small" onClick={onClose}>
          Close
        </button>
      </div>
      {canManage ? (
        <>
          {save.isSuccess && (
            <p className="notice notice-ok" role="status">
              Saved: devices get the change at their next heartbeat.
            </p>
          )}
          <StrategyForm
            initial={strategy}
            submitLabel="Save changes"
            busy={save.isPending}
            error={save.error}
            onSubmit={(draft) => save.mutate(draft)}
          />
          <Assignment strategy={strategy} />
          <div className="panel-actions">
            <button
              type="button"
              className="button-danger"
              onClick={() =>
                ask({
                  title: `Delete the strategy ${strategy.name}?`,
                  confirmLabel: `Delete ${strategy.name}`,
                  body: (
                    <p>
                      {strategy.name} and all its assignments are deleted. Devices keep the{' '}
                      {options.length === 1 ? 'option' : `${options.length} options`} they already applied
                      until something else sets them.
                    </p>
                  ),
                  run: () =>
                    unwrap(api.DELETE('/api/v1/strategies/{id}', { params: { path: { id: strategy.id } } })),
                  invalidates: ['strategies'],
                  onDone: onClose,
                })
              }
            >
              Delete strategy
            </button>
          </div>
        </>
      ) : options.length === 0 ? (
        <p className="empty">No options.</p>
      ) : (
        <dl className="facts">
          {options.map(([key, value]) => (
            <Fragment key={key}>
              <dt>
                <code>{key}</code>
              </dt>
              <dd>{value === '' ? <span className="subtle">(the client’s default)</span> : value}</dd>
            </Fragment>
          ))}
        </dl>
      )}
    </section>
  );
}

/** Assign to or take off one device, user or device group (the api names them; it keeps one per target). */
function Assignment({ strategy }: { strategy: StrategyView }) {
  const [kind, setKind] = useState<TargetKind>('device');
  const [target, setTarget] = useState('');
  const [done, setDone] = useState<string>();
  const deviceGroups = useQuery({
    queryKey: ['device-groups'],
    queryFn: () => unwrap(api.GET('/api/v1/device-groups')),
    enabled: kind === 'deviceGroup',
  });
  const change = useMutation({
    mutationFn: async (operation: 'assign' | 'unassign') => {
      const body = { [kind]: target.trim() };
      const params = { params: { path: { id: strategy.id } }, body };
      if (operation === 'assign') await unwrap(api.POST('/api/v1/strategies/{id}/assign', params));
      else await unwrap(api.POST('/api/v1/strategies/{id}/unassign', params));
      return operation;
    },
    onSuccess: (operation) => {
      const name =
        kind === 'deviceGroup'
          ? (deviceGroups.data?.find((group) => group.id === target)?.name ?? target)
          : target.trim();
      const what = `${kind === 'deviceGroup' ? 'device group' : kind} ${name}`;
      setDone(
        operation === 'assign'
          ? `${strategy.name} is now assigned to the ${what}.`
          : `${strategy.name} no longer applies to the ${what}.`,
      );
    },
  });
  const run = (operation: 'assign' | 'unassign') => (event?: FormEvent) => {
    event?.preventDefault();
    setDone(undefined);
    if (target.trim() !== '') change.mutate(operation);
  };

  return (
    <>
      <h3>Assignment</h3>
      <p className="subtle">Assigning replaces whatever strategy the target had.</p>
      <form className="toolbar" onSubmit={run('assign')}>
        <label>
          Assign to
          <select
            value={kind}
            onChange={(event) => {
              setKind(event.target.value as TargetKind);
              setTarget('');
            }}
          >
            {(Object.keys(TARGET_LABELS) as TargetKind[]).map((value) => (
              <option key={value} value={value}>
                {TARGET_LABELS[value]}
              </option>
            ))}
          </select>
        </label>
        {kind === 'deviceGroup' ? (
          <label className="grow">
            Which device group
            <select value={target} onChange={(event) => setTarget(event.target.value)}>
              <option value="">Choose a device group</option>
              {deviceGroups.data?.map((group) => (
                <option key={group.id} value={group.id}>
                  {group.name}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label className="grow">
            {kind === 'device' ? 'Which device (RustDesk id)' : 'Which user (username)'}
            <input
              value={target}
              onChange={(event) => setTarget(event.target.value)}
              autoCapitalize="none"
              spellCheck={false}
            />
          </label>
        )}
        <button type="submit" disabled={change.isPending || target.trim() === ''}>
          Assign
        </button>
        <button
          type="button"
          disabled={change.isPending || target.trim() === ''}
          onClick={() => run('unassign')()}
        >
          Unassign
        </button>
      </form>
      {done !== undefined && (
        <p className="notice notice-ok" role="status">
          {done}
        </p>
      )}
      {deviceGroups.error !== null && (
        <ErrorNotice error={deviceGroups.error} title="Device groups not loaded" />
      )}
      {change.error !== null && <ErrorNotice error={change.error} title="Refused" />}
    </>
  );
}
