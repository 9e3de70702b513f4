import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';

import { api, unwrap } from '../../api/client';
import { useCan } from '../../auth/session';
import { ErrorNotice } from '../../ui/error-notice';
import { QueryState } from '../../ui/query-state';
import { TableWrap } from '../../ui/table-wrap';
import { type PendingAction } from '../../ui/confirmed-action';
import { type DeviceGroupView } from './groups-types';
import { count } from './user-group-panel';

/**
 * Device groups: create, rename, delete. Which devices are in one is set on the device's page; here
 * only their number shows.
 */
export function DeviceGroupsSection({ ask }: { ask: (action: PendingAction) => void }) {
  const canManage = useCan('device.manage');
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [editing, setEditing] = useState<string>();
  const groups = useQuery({
    queryKey: ['device-groups'],
    queryFn: () => unwrap(api.GET('/api/v1/device-groups')),
  });
  const create = useMutation({
    mutationFn: (groupName: string) =>
      unwrap(api.POST('/api/v1/device-groups', { body: { name: groupName } })),
    onSuccess: () => setName(''),
    onSettled: () => client.invalidateQueries({ queryKey: ['device-groups'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() !== '') create.mutate(name.trim());
  };

  return (
    <section aria-labelledby="device-groups-title">
      <h2 id="device-groups-title">Device groups</h2>
      {canManage && (
        <form className="toolbar" onSubmit={submit}>
          <label className="grow">
            New device group
            <input value={name} onChange={(event) => setName(event.target.value)} maxLength={128} />
          </label>
          <button type="submit" className="button-primary" disabled={create.isPending || name.trim() === ''}>
            Create device group
          </button>
        </form>
      )}
      {create.error !== null && <ErrorNotice error={create.error} title="Not created" />}
      <QueryState query={groups} isEmpty={(data) => data.length === 0} empty="No device groups yet.">
        {(data) => (
          <TableWrap label="Device groups">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Devices</th>
                  <th scope="col" className="hide-narrow">
                    Note
                  </th>
                  {canManage && (
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {data.map((group) =>
                  editing === group.id ? (
                    <tr key={group.id}>
                      <td colSpan={canManage ? 4 : 3}>
                        <RenameDeviceGroup group={group} onDone={() => setEditing(undefined)} />
                      </td>
                    </tr>
                  ) : (
                    <tr key={group.id}>
                      <td>
                        <strong>{group.name}</strong>
                      </td>
                      <td>{group.devices}</td>
                      <td className="hide-narrow">{group.note ?? ''}</td>
                      {canManage && (
                        <td>
                          <div className="row-actions">
                            <button
                              type="button"
                              className="button-small"
                              aria-label={`Rename ${group.name}`}
                              onClick={() => setEditing(group.id)}
                            >
                              Rename
                            </button>
                            <button
                              type="button"
                              className="button-small"
                              aria-label={`Delete ${group.name}`}
                              onClick={() =>
                                ask({
                                  title: `Delete the device group ${group.name}?`,
                                  confirmLabel: `Delete ${group.name}`,
                                  body: (
                                    <p>
                                      Its {count(group.devices, 'device')} stay but belong to no group, and
                                      the access rules and strategy assignment naming {group.name} go with it.
                                    </p>
                                  ),
                                  run: () =>
                                    unwrap(
                                      api.DELETE('/api/v1/device-groups/{id}', {
                                        params: { path: { id: group.id } },
                                      }),
                                    ),
                                  invalidates: ['device-groups', 'user-groups', 'devices'],
                                })
                              }
                            >
                              Delete
                            </button>
                          </div>
                        </td>
                      )}
                    </tr>
                  ),
                )}
              </tbody>
            </table>
          </TableWrap>
        )}
      </QueryState>
    </section>
  );
}

function RenameDeviceGroup({ group, onDone }: { group: DeviceGroupView; onDone: () => void }) {
  const client = useQueryClient();
  const [name, setName] = useState(group.name);
  const rename = useMutation({
    mutationFn: (next: string) =>
      unwrap(
        api.PATCH('/api/v1/device-groups/{id}', { params: { path: { id: group.id } }, body: { name: next } }),
      ),
    onSuccess: onDone,
    onSettled: () =>
      Promise.all(
        ['device-groups', 'user-groups'].map((key) => client.invalidateQueries({ queryKey: [key] })),
      ),
  });
  return (
    <form
      className="toolbar"
      onSubmit={(event) => {
        event.preventDefault();
        rename.mutate(name.trim());
      }}
    >
      <label className="grow">
        New name for {group.name}
        <input value={name} onChange={(event) => setName(event.target.value)} maxLength={128} autoFocus />
      </label>
      <button type="submit" disabled={rename.isPending || name.trim() === ''}>
        Save
      </button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
      {rename.error !== null && <ErrorNotice error={rename.error} title="Not renamed" />}
    </form>
  );
}
