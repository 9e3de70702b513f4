import '../users/users.css';

import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';

import { api, unwrap } from '../../api/client';
import { useCan } from '../../auth/session';
import { useConfirmedAction } from '../../ui/confirmed-action';
import { NewNameForm } from '../../ui/new-name-form';
import { PageHeader } from '../../ui/page-header';
import { Pager } from '../../ui/pager';
import { QueryState } from '../../ui/query-state';
import { ActionsHeader, RowButton } from '../../ui/row-actions';
import { TableWrap } from '../../ui/table-wrap';
import { DeviceGroupsSection } from './device-groups-section';
import { UserGroupPanel } from './user-group-panel';

const PAGE_SIZE = 25;

/**
 * Groups: user groups (members and the access rules that decide what their RustDesk clients show in
 * the group tab) and device groups. Devices join a device group from the device's own page.
 */
export function GroupsPage() {
  const [params, setParams] = useSearchParams();
  const selected = params.get('group');
  const page = Math.max(1, Number(params.get('page')) || 1);
  const { ask, dialog } = useConfirmedAction();

  const change = (next: Record<string, string | null>) => {
    const merged = new URLSearchParams(params);
    for (const [key, value] of Object.entries(next)) {
      if (value === null) merged.delete(key);
      else merged.set(key, value);
    }
    setParams(merged);
  };

  return (
    <>
      <PageHeader title="Groups" />
      <UserGroupsSection
        page={page}
        selected={selected}
        onPage={(next) => change({ page: String(next) })}
        onSelect={(id) => change({ group: id })}
      />
      {selected !== null && (
        <UserGroupPanel key={selected} id={selected} ask={ask} onClose={() => change({ group: null })} />
      )}
      <DeviceGroupsSection ask={ask} />
      {dialog}
    </>
  );
}

function UserGroupsSection({
  page,
  selected,
  onPage,
  onSelect,
}: {
  page: number;
  selected: string | null;
  onPage: (page: number) => void;
  onSelect: (id: string) => void;
}) {
  const canManage = useCan('user.manage');
  const client = useQueryClient();
  const groups = useQuery({
    queryKey: ['user-groups', 'list', page],
    queryFn: () =>
      unwrap(api.GET('/api/v1/user-groups', { params: { query: { page, pageSize: PAGE_SIZE } } })),
    placeholderData: keepPreviousData,
  });
  const create = useMutation({
    mutationFn: (groupName: string) => unwrap(api.POST('/api/v1/user-groups', { body: { name: groupName } })),
    onSuccess: async (created) => {
      onSelect(created.id);
      await client.invalidateQueries({ queryKey: ['user-groups'] });
    },
  });

  return (
    <section aria-labelledby="user-groups-title">
      <h2 id="user-groups-title">User groups</h2>
      {canManage && <NewNameForm label="New user group" submitLabel="Create user group" create={create} />}
      <QueryState query={groups} isEmpty={(data) => data.items.length === 0} empty="No user groups yet.">
        {(data) => (
          <>
            <TableWrap label="User groups">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Members</th>
                    <th scope="col" className="hide-narrow">
                      Note
                    </th>
                    <ActionsHeader />
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((group) => (
                    <tr
                      key={group.id}
                      className={group.id === selected ? 'selected' : undefined}
                      aria-current={group.id === selected ? 'true' : undefined}
                    >
                      <td>
                        <strong>{group.name}</strong>
                      </td>
                      <td>{group.members}</td>
                      <td className="hide-narrow">{group.note ?? ''}</td>
                      <td>
                        <RowButton label={`Open ${group.name}`} onClick={() => onSelect(group.id)}>
                          Open
                        </RowButton>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
            <Pager list={data} label="Pages of user groups" onPage={onPage} />
          </>
        )}
      </QueryState>
    </section>
  );
}
