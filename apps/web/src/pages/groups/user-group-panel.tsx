import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';

import { api, unwrap } from '../../api/client';
import { useCan } from '../../auth/session';
import { type PendingAction } from '../../ui/confirmed-action';
import { ErrorNotice } from '../../ui/error-notice';
import { formatTime } from '../../ui/format';
import { Pager } from '../../ui/pager';
import { QueryState } from '../../ui/query-state';
import { ActionsHeader, RowButton } from '../../ui/row-actions';
import { TableWrap } from '../../ui/table-wrap';
import { type GroupRef, type UserGroupDetailsView } from './groups-types';

const MEMBERS_PAGE_SIZE = 50;
/** The api's largest page: enough choices for a picker; more are typed by name. */
const PICKER_SIZE = 200;

/** One user group: rename, delete, its members and its access rules. */
export function UserGroupPanel({
  id,
  ask,
  onClose,
}: {
  id: string;
  ask: (action: PendingAction) => void;
  onClose: () => void;
}) {
  const canManage = useCan('user.manage');
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const group = useQuery({
    queryKey: ['user-groups', 'one', id],
    queryFn: () => unwrap(api.GET('/api/v1/user-groups/{id}', { params: { path: { id } } })),
  });

  return (
    <section className="panel detail" aria-labelledby="user-group-title">
      <div className="panel-head">
        <h2 id="user-group-title" ref={heading} tabIndex={-1}>
          User group {group.data?.name ?? ''}
        </h2>
        <button type="button" className="button-small" onClick={onClose}>
          Close
        </button>
      </div>
      <QueryState query={group}>
        {(data) => (
          <>
            {data.note !== null && <p className="subtle">{data.note}</p>}
            {canManage && (
              <>
                <RenameForm group={data} />
                <div className="panel-actions">
                  <button
                    type="button"
                    className="button-danger"
                    onClick={() =>
                      ask({
                        title: `Delete the user group ${data.name}?`,
                        confirmLabel: `Delete ${data.name}`,
                        body: (
                          <p>
                            The group {data.name} is deleted with its {count(data.members, 'membership')} and{' '}
                            {count(
                              data.deviceGroupAccess.length + data.userGroupAccess.length,
                              'access rule',
                            )}
                            ; its members lose what it let them see. The users themselves stay.
                          </p>
                        ),
                        run: () =>
                          unwrap(api.DELETE('/api/v1/user-groups/{id}', { params: { path: { id } } })),
                        invalidates: ['user-groups'],
                        deletes: id,
                        onDone: onClose,
                      })
                    }
                  >
                    Delete group
                  </button>
                </div>
              </>
            )}
            <Members group={data} ask={ask} />
            <AccessRules group={data} ask={ask} />
          </>
        )}
      </QueryState>
    </section>
  );
}

function RenameForm({ group }: { group: UserGroupDetailsView }) {
  const client = useQueryClient();
  const [name, setName] = useState(group.name);
  const rename = useMutation({
    mutationFn: (next: string) =>
      unwrap(
        api.PATCH('/api/v1/user-groups/{id}', { params: { path: { id: group.id } }, body: { name: next } }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: ['user-groups'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    rename.mutate(name.trim());
  };
  return (
    <form className="toolbar" onSubmit={submit}>
      <label className="grow">
        Name
        <input value={name} onChange={(event) => setName(event.target.value)} maxLength={128} />
      </label>
      <button type="submit" disabled={rename.isPending || name.trim() === '' || name.trim() === group.name}>
        Rename
      </button>
      {rename.isSuccess && (
        <span role="status" className="subtle">
          Renamed.
        </span>
      )}
      {rename.error !== null && <ErrorNotice error={rename.error} title="Not renamed" />}
    </form>
  );
}

function Members({ group, ask }: { group: UserGroupDetailsView; ask: (action: PendingAction) => void }) {
  const canManage = useCan('user.manage');
  const client = useQueryClient();
  const [page, setPage] = useState(1);
  const [names, setNames] = useState('');
  const members = useQuery({
    queryKey: ['user-groups', 'members', group.id, page],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/user-groups/{id}/members', {
          params: { path: { id: group.id }, query: { page, pageSize: MEMBERS_PAGE_SIZE } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const users = useQuery({
    queryKey: ['users', 'picker'],
    queryFn: () => unwrap(api.GET('/api/v1/users', { params: { query: { pageSize: PICKER_SIZE } } })),
    enabled: canManage,
    staleTime: 60_000,
  });
  const add = useMutation({
    mutationFn: (list: string[]) =>
      unwrap(
        api.POST('/api/v1/user-groups/{id}/members', {
          params: { path: { id: group.id } },
          body: { users: list },
        }),
      ),
    onSuccess: () => setNames(''),
    onSettled: () => client.invalidateQueries({ queryKey: ['user-groups'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const list = names.split(/[\s,]+/).filter((name) => name !== '');
    if (list.length > 0) add.mutate(list);
  };
  const listId = `members-picker-${group.id}`;

  return (
    <>
      <h3>Members ({group.members})</h3>
      {canManage && (
        <form className="toolbar" onSubmit={submit}>
          <label className="grow">
            Add members (usernames, separated by commas or spaces)
            <input
              value={names}
              list={listId}
              autoComplete="off"
              autoCapitalize="none"
              spellCheck={false}
              onChange={(event) => setNames(event.target.value)}
            />
          </label>
          <datalist id={listId}>
            {users.data?.items.map((user) => (
              <option key={user.id} value={user.username}>
                {user.displayName ?? user.username}
              </option>
            ))}
          </datalist>
          <button type="submit" disabled={add.isPending || names.trim() === ''}>
            Add
          </button>
        </form>
      )}
      {add.error !== null && <ErrorNotice error={add.error} title="Not added" />}
      <QueryState
        query={members}
        isEmpty={(data) => data.items.length === 0}
        empty={`${group.name} has no members yet.`}
      >
        {(data) => (
          <>
            <TableWrap label={`Members of ${group.name}`}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">User</th>
                    <th scope="col" className="hide-narrow">
                      Added
                    </th>
                    {canManage && <ActionsHeader />}
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((member) => (
                    <tr key={member.id}>
                      <td>
                        {member.username}
                        {member.displayName !== null && <span className="subtle"> {member.displayName}</span>}
                        {member.disabled && <span className="badge badge-danger">disabled</span>}
                      </td>
                      <td className="hide-narrow">{formatTime(member.addedAt)}</td>
                      {canManage && (
                        <td>
                          <RowButton
                            label={`Remove ${member.username} from ${group.name}`}
                            onClick={() =>
                              ask({
                                title: `Remove ${member.username} from ${group.name}?`,
                                confirmLabel: 'Remove member',
                                body: (
                                  <p>
                                    {member.username} leaves {group.name} and no longer sees what its access
                                    rules allow. The user stays.
                                  </p>
                                ),
                                run: () =>
                                  unwrap(
                                    api.DELETE('/api/v1/user-groups/{id}/members/{userId}', {
                                      params: { path: { id: group.id, userId: member.id } },
                                    }),
                                  ),
                                invalidates: ['user-groups'],
                              })
                            }
                          >
                            Remove
                          </RowButton>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
            <Pager list={data} label={`Pages of ${group.name}'s members`} onPage={setPage} />
          </>
        )}
      </QueryState>
    </>
  );
}

function AccessRules({ group, ask }: { group: UserGroupDetailsView; ask: (action: PendingAction) => void }) {
  const canManage = useCan('user.manage');
  const canSeeDeviceGroups = useCan('device.view');
  const client = useQueryClient();
  const [deviceGroup, setDeviceGroup] = useState('');
  const [userGroup, setUserGroup] = useState('');
  const deviceGroups = useQuery({
    queryKey: ['device-groups'],
    queryFn: () => unwrap(api.GET('/api/v1/device-groups')),
    enabled: canManage && canSeeDeviceGroups,
  });
  const userGroups = useQuery({
    queryKey: ['user-groups', 'picker'],
    queryFn: () => unwrap(api.GET('/api/v1/user-groups', { params: { query: { pageSize: PICKER_SIZE } } })),
    enabled: canManage,
  });
  const grant = useMutation({
    mutationFn: (rule: { kind: 'device' | 'user'; targetId: string }) =>
      rule.kind === 'device'
        ? unwrap(
            api.POST('/api/v1/user-groups/{id}/access/device-groups/{deviceGroupId}', {
              params: { path: { id: group.id, deviceGroupId: rule.targetId } },
            }),
          )
        : unwrap(
            api.POST('/api/v1/user-groups/{id}/access/user-groups/{targetId}', {
              params: { path: { id: group.id, targetId: rule.targetId } },
            }),
          ),
    onSuccess: (_result, rule) => (rule.kind === 'device' ? setDeviceGroup('') : setUserGroup('')),
    onSettled: () => client.invalidateQueries({ queryKey: ['user-groups'] }),
  });

  const granted = (refs: readonly GroupRef[]) => new Set(refs.map((ref) => ref.id));
  const deviceChoices = (deviceGroups.data ?? []).filter(
    (candidate) => !granted(group.deviceGroupAccess).has(candidate.id),
  );
  const userChoices = (userGroups.data?.items ?? []).filter(
    (candidate) => candidate.id !== group.id && !granted(group.userGroupAccess).has(candidate.id),
  );

  const revoke = (kind: 'device' | 'user', target: GroupRef) =>
    ask({
      title: `Withdraw ${group.name}'s access to ${target.name}?`,
      confirmLabel: 'Withdraw access',
      body: (
        <p>
          Members of {group.name} no longer see{' '}
          {kind === 'device'
            ? `the devices of the device group ${target.name}`
            : `the members of the user group ${target.name} and their devices`}{' '}
          (unless another rule allows it).
        </p>
      ),
      run: () =>
        kind === 'device'
          ? unwrap(
              api.DELETE('/api/v1/user-groups/{id}/access/device-groups/{deviceGroupId}', {
                params: { path: { id: group.id, deviceGroupId: target.id } },
              }),
            )
          : unwrap(
              api.DELETE('/api/v1/user-groups/{id}/access/user-groups/{targetId}', {
                params: { path: { id: group.id, targetId: target.id } },
              }),
            ),
      invalidates: ['user-groups'],
    });

  const rules = (kind: 'device' | 'user', refs: readonly GroupRef[]) =>
    refs.length === 0 ? (
      <p className="subtle">None yet.</p>
    ) : (
      <ul className="chips">
        {refs.map((ref) => (
          <li key={ref.id}>
            {ref.name}
            {canManage && (
              <RowButton label={`Remove access to ${ref.name}`} onClick={() => revoke(kind, ref)}>
                Remove
              </RowButton>
            )}
          </li>
        ))}
      </ul>
    );

  return (
    <>
      <h3>Access rules</h3>
      <p className="subtle">What the members of {group.name} see in their RustDesk client’s group tab.</p>
      <h4>Device groups whose devices they may see</h4>
      {rules('device', group.deviceGroupAccess)}
      {canManage && canSeeDeviceGroups && (
        <form
          className="toolbar"
          onSubmit={(event) => {
            event.preventDefault();
            if (deviceGroup !== '') grant.mutate({ kind: 'device', targetId: deviceGroup });
          }}
        >
          <label className="grow">
            Allow a device group
            <select value={deviceGroup} onChange={(event) => setDeviceGroup(event.target.value)}>
              <option value="">
                {deviceChoices.length === 0 ? 'No device group left to add' : 'Choose a device group'}
              </option>
              {deviceChoices.map((choice) => (
                <option key={choice.id} value={choice.id}>
                  {choice.name} ({count(choice.devices, 'device')})
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={grant.isPending || deviceGroup === ''}>
            Allow
          </button>
        </form>
      )}
      <h4>User groups whose members they may see</h4>
      {rules('user', group.userGroupAccess)}
      {canManage && (
        <form
          className="toolbar"
          onSubmit={(event) => {
            event.preventDefault();
            if (userGroup !== '') grant.mutate({ kind: 'user', targetId: userGroup });
          }}
        >
          <label className="grow">
            Allow a user group
            <select value={userGroup} onChange={(event) => setUserGroup(event.target.value)}>
              <option value="">
                {userChoices.length === 0 ? 'No user group left to add' : 'Choose a user group'}
              </option>
              {userChoices.map((choice) => (
                <option key={choice.id} value={choice.id}>
                  {choice.name} ({count(choice.members, 'member')})
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={grant.isPending || userGroup === ''}>
            Allow
          </button>
        </form>
      )}
      {grant.error !== null && <ErrorNotice error={grant.error} title="Rule not added" />}
    </>
  );
}

export function count(value: number, noun: string): string {
  return `${value} ${noun}${value === 1 ? '' : 's'}`;
}
