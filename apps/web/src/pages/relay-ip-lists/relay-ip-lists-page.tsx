import '../users/users.css';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';

import { fieldProblems } from '../../api/api-error';
import { api, unwrap } from '../../api/client';
import { useCan } from '../../auth/session';
import { useConfirmedAction } from '../../ui/confirmed-action';
import { ErrorNotice } from '../../ui/error-notice';
import { FormToggle } from '../../ui/form-toggle';
import { formatTime } from '../../ui/format';
import { PageHeader } from '../../ui/page-header';
import { QueryState } from '../../ui/query-state';
import { ActionsHeader, RowButton } from '../../ui/row-actions';
import { TableWrap } from '../../ui/table-wrap';
import { type RelayIpListEntry, type RelayIpListName } from './relay-ip-lists-types';

const LIST_BADGES: Readonly<Record<RelayIpListName, string>> = {
  blocklist: 'badge badge-danger',
  blacklist: 'badge badge-warn',
};

const LIST_HINTS: Readonly<Record<RelayIpListName, string>> = {
  blocklist: 'refused',
  blacklist: 'slowed',
};

/** The IP lists every relay applies, managed in one place (relay_ip_list.manage: admins). */
export function RelayIpListsPage() {
  const canManage = useCan('relay_ip_list.manage');
  const [adding, setAdding] = useState(false);
  const { ask, dialog } = useConfirmedAction();
  const entries = useQuery({
    queryKey: ['relay-ip-lists'],
    queryFn: () => unwrap(api.GET('/api/v1/relay-ip-lists')),
  });

  const remove = (entry: RelayIpListEntry) =>
    ask({
      title: `Take ${entry.address} off the ${entry.list}?`,
      confirmLabel: 'Remove address',
      body: (
        <p>
          Every relay stops applying the {entry.list} to <code className="ip-address">{entry.address}</code>{' '}
          within a few seconds
          {entry.list === 'blocklist' ? ': it may connect again' : ': its sessions are no longer slowed'}. A
          list file beside a relay that names it still applies on that relay.
        </p>
      ),
      run: () =>
        unwrap(
          api.DELETE('/api/v1/relay-ip-lists/{list}/{address}', {
            params: { path: { list: entry.list, address: entry.address } },
          }),
        ),
      invalidates: ['relay-ip-lists'],
    });

  return (
    <>
      <PageHeader
        title="Relay IP lists"
        actions={
          canManage && (
            <FormToggle
              open={adding}
              onToggle={setAdding}
              label="Add an address"
              closeLabel="Close the add address form"
            />
          )
        }
      />
      <p className="subtle">
        Every relay applies these lists. An address on the <strong>blocklist</strong> is refused: relays
        accept no connection from it and cut its live sessions. Sessions from an address on the{' '}
        <strong>blacklist</strong> are slowed to the relays’ <code>LIMIT_SPEED</code>. The list files beside
        each relay (<code>blocklist.txt</code>, <code>blacklist.txt</code>) still apply to that relay.
      </p>
      {adding && canManage && <AddEntryForm />}
      <QueryState
        query={entries}
        isEmpty={(data) => data.length === 0}
        empty="No addresses on either list. Every relay takes connections from any address."
      >
        {(data) => (
          <TableWrap label="Relay IP list entries">
            <table>
              <thead>
                <tr>
                  <th scope="col">List</th>
                  <th scope="col">Address</th>
                  <th scope="col">Note</th>
                  <th scope="col" className="hide-narrow">
                    Added by
                  </th>
                  <th scope="col" className="hide-narrow">
                    Added
                  </th>
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {data.map((entry) => (
                  <tr key={`${entry.list} ${entry.address}`}>
                    <td>
                      <span className={LIST_BADGES[entry.list]}>{entry.list}</span>
                    </td>
                    <td>
                      <code className="ip-address">{entry.address}</code>
                    </td>
                    <td>{entry.note === '' ? <span className="subtle">none</span> : entry.note}</td>
                    <td className="hide-narrow">
                      {entry.createdBy?.username ?? <span className="subtle">—</span>}
                    </td>
                    <td className="hide-narrow">{formatTime(entry.createdAt)}</td>
                    <td>
                      {canManage && (
                        <RowButton
                          label={`Remove ${entry.address} from the ${entry.list}`}
                          onClick={() => remove(entry)}
                        >
                          Remove
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

const FIELDS = ['address', 'note'] as const;

/** Stays open after an add, emptied, so several addresses can go on in a row. */
function AddEntryForm() {
  const client = useQueryClient();
  const [list, setList] = useState<RelayIpListName>('blocklist');
  const [address, setAddress] = useState('');
  const [note, setNote] = useState('');
  const [added, setAdded] = useState<RelayIpListEntry>();
  const add = useMutation({
    mutationFn: (body: { list: RelayIpListName; address: string; note?: string }) =>
      unwrap(
        api.POST('/api/v1/relay-ip-lists/{list}', {
          params: { path: { list: body.list } },
          body: { address: body.address, ...(body.note === undefined ? {} : { note: body.note }) },
        }),
      ),
    onSuccess: async (entry) => {
      setAdded(entry);
      setAddress('');
      setNote('');
      await client.invalidateQueries({ queryKey: ['relay-ip-lists'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setAdded(undefined);
    add.mutate({ list, address: address.trim(), ...(note.trim() === '' ? {} : { note: note.trim() }) });
  };
  // The api's 400 names the bad field; those show beside it, anything else (a 409, say) below the form.
  const problems = fieldProblems(add.error, FIELDS);
  const addressProblem = problems?.byField.address;
  const noteProblem = problems?.byField.note;
  const showNotice = add.error !== null && (problems === undefined || problems.other.length > 0);

  return (
    <section className="panel" aria-labelledby="add-ip-title">
      <h2 id="add-ip-title">Add an address</h2>
      <form className="form" onSubmit={submit} noValidate>
        <div className="form-row">
          <label>
            List
            <select value={list} onChange={(event) => setList(event.target.value as RelayIpListName)}>
              {(['blocklist', 'blacklist'] as const).map((name) => (
                <option key={name} value={name}>
                  {name} ({LIST_HINTS[name]})
                </option>
              ))}
            </select>
          </label>
          <label>
            IP address
            <input
              value={address}
              onChange={(event) => setAddress(event.target.value)}
              maxLength={64}
              autoComplete="off"
              autoCapitalize="none"
              spellCheck={false}
              required
              aria-invalid={addressProblem !== undefined}
              aria-describedby={`add-ip-address-hint${addressProblem === undefined ? '' : ' add-ip-address-error'}`}
            />
          </label>
        </div>
        <p id="add-ip-address-hint" className="subtle">
          One IPv4 or IPv6 address, no range or host name. It is kept in the form the relays compare: IPv6
          shortened and in lower case (RFC 5952), an IPv4-mapped IPv6 address as its IPv4 address.
        </p>
        {addressProblem !== undefined && (
          <p id="add-ip-address-error" className="field-error">
            The IP address {addressProblem}
          </p>
        )}
        <label>
          Note (optional; why it is listed)
          <input
            value={note}
            onChange={(event) => setNote(event.target.value)}
            maxLength={256}
            autoComplete="off"
            aria-invalid={noteProblem !== undefined}
            aria-describedby={noteProblem === undefined ? undefined : 'add-ip-note-error'}
          />
        </label>
        {noteProblem !== undefined && (
          <p id="add-ip-note-error" className="field-error">
            The note {noteProblem}
          </p>
        )}
        {showNotice && <ErrorNotice error={add.error} title="Not added" />}
        {added !== undefined && (
          <p className="notice notice-ok" role="status">
            <code>{added.address}</code> is now on the {added.list}.
          </p>
        )}
        <div>
          <button type="submit" className="button-primary" disabled={add.isPending || address.trim() === ''}>
            {add.isPending ? 'Adding…' : `Add to the ${list}`}
          </button>
        </div>
      </form>
    </section>
  );
}
