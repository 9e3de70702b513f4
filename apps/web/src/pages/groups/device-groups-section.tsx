import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { api, unwrap } from '../../api/client';
import { useCan } from '../../auth/session';
import { type PendingAction } from '../../ui/confirmed-action';
import { ErrorNotice } from '../../ui/error-notice';
import { NewNameForm } from '../../ui/new-name-form';
import { QueryState } from '../../ui/query-state';
import { ActionsHeader, RowButton } from '../../ui/row-actions';
import { TableWrap } from '../../ui/table-wrap';
import { type DeviceGroupView } from './groups-types';
import { count } from './user-group-panel';

/**
 * Device groups: create, rename, delete. Which devices are in one is set on the device's page; here
 * only their number shows.
 */
export function DeviceGroupsSection({ ask }: { ask: (action: PendingAction) => void }) {
  const canManage = useCan('device.manage');
  const client = useQueryClient();
  const [editing, setEditing] = useState<string>();
  const groups = useQuery({
    queryKey: ['device-groups'],
    queryFn: () => unwrap(api.GET('/api/v1/device-groups')),
  });
  const create = useMutation({
    mutationFn: (groupName: string) =>
      unwrap(api.POST('/api/v1/device-groups', { body: { name: groupName } })),
    onSettled: () => client.invalidateQueries({ queryKey: ['device-groups'] }),
  });

  return (
    <section aria-labelledby="device-groups-title">
      <h2 id="device-groups-title">Device groups</h2>
      {canManage && (
        <NewNameForm label="New device group" submitLabel="Create device group" create={create} />
      )}
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
                  {canManage && <ActionsHeader />}
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
                            <RowButton label={`Rename ${group.name}`} onClick={() => setEditing(group.id)}>
                              Rename
                            </RowButton>
                            <RowButton
                              label={`Delete ${group.name}`}
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
                            </RowButton>
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
