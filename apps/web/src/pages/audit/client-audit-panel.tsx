import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';

import { api, unwrap } from '../../api/client';
import { ErrorNotice } from '../../ui/error-notice';
import { formatTime } from '../../ui/format';
import { QueryState } from '../../ui/query-state';
import {
  type AlarmRecord,
  type AlarmRecordPage,
  type ConnectionRecord,
  type ConnectionRecordPage,
  type FileRecord,
  type FileRecordPage,
} from './audit-types';
import {
  authLabel,
  type ClientAuditKind,
  KIND_LABELS,
  TYPE_FILTER_LABELS,
  TYPE_LABELS,
  typeLabel,
} from './client-audit-labels';
import { CursorPager, useCursorPages } from '../../ui/cursor-pager';
import { downloadOf, saveBlob } from '../../ui/download';
import { formFields, isoOfLocal } from '../../ui/form-values';
import { TableWrap } from '../../ui/table-wrap';
import { TimeRangeFields } from './time-range-fields';

const FILTER_FIELDS = ['device', 'user', 'type', 'from', 'to'] as const;
const PAGE_SIZE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ClientFilter {
  device?: string;
  user?: string;
  type?: number;
  from?: string;
  to?: string;
}

function kindOf(params: URLSearchParams): ClientAuditKind {
  const kind = params.get('kind');
  return kind === 'files' || kind === 'alarms' ? kind : 'connections';
}

function filterOf(params: URLSearchParams): ClientFilter {
  const type = params.get('type');
  const filter: ClientFilter = {
    device: params.get('device') ?? undefined,
    user: params.get('user') ?? undefined,
    type: type === null || !/^\d+$/.test(type) ? undefined : Number(type),
    from: isoOfLocal(params.get('from')),
    to: isoOfLocal(params.get('to')),
  };
  return Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined));
}

/** A page of one kind of record, tagged with its kind so the table that shows it is typed. */
type Listing =
  | { kind: 'connections'; page: ConnectionRecordPage }
  | { kind: 'files'; page: FileRecordPage }
  | { kind: 'alarms'; page: AlarmRecordPage };

async function list(
  kind: ClientAuditKind,
  query: ClientFilter & { cursor?: string; limit: number },
): Promise<Listing> {
  switch (kind) {
    case 'connections':
      return { kind, page: await unwrap(api.GET('/api/v1/client-audit/connections', { params: { query } })) };
    case 'files':
      return { kind, page: await unwrap(api.GET('/api/v1/client-audit/files', { params: { query } })) };
    case 'alarms':
      return { kind, page: await unwrap(api.GET('/api/v1/client-audit/alarms', { params: { query } })) };
  }
}

function exportCsv(kind: ClientAuditKind, query: ClientFilter) {
  const options = { params: { query }, parseAs: 'blob' as const };
  const call =
    kind === 'connections'
      ? api.GET('/api/v1/client-audit/connections.csv', options)
      : kind === 'files'
        ? api.GET('/api/v1/client-audit/files.csv', options)
        : api.GET('/api/v1/client-audit/alarms.csv', options);
  return downloadOf(call, `client-audit-${kind}.csv`);
}

/** What RustDesk clients reported: connections, file transfers and alarms, with filters and CSV. */
export function ClientAuditPanel() {
  const [params, setParams] = useSearchParams();
  const kind = kindOf(params);
  const filter = filterOf(params);
  const userParam = params.get('user');
  const userInvalid = userParam !== null && !UUID.test(userParam);

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setParams({ view: 'clients', kind, ...formFields(event.currentTarget, FILTER_FIELDS) });
  };
  const download = useMutation({
    mutationFn: () => exportCsv(kind, filter),
    onSuccess: ({ blob, fileName }) => saveBlob(blob, fileName),
  });

  return (
    <section aria-labelledby="client-audit-heading">
      <h2 id="client-audit-heading">RustDesk clients</h2>
      <p className="muted">
        What controlled devices reported about their sessions. The controlling user is known when signal
        brokered the connection.
      </p>
      <div className="toolbar">
        <label>
          Record type
          <select value={kind} onChange={(event) => setParams({ view: 'clients', kind: event.target.value })}>
            {(Object.keys(KIND_LABELS) as ClientAuditKind[]).map((value) => (
              <option key={value} value={value}>
                {KIND_LABELS[value]}
              </option>
            ))}
          </select>
        </label>
      </div>
      <form key={params.toString()} className="toolbar audit-filters" onSubmit={onSubmit} role="search">
        <label>
          Device id
          <input name="device" defaultValue={params.get('device') ?? ''} inputMode="numeric" />
        </label>
        <label>
          User id
          <input
            name="user"
            defaultValue={userParam ?? ''}
            aria-invalid={userInvalid}
            aria-describedby={userInvalid ? 'client-user-error' : undefined}
          />
        </label>
        <label>
          {TYPE_FILTER_LABELS[kind]}
          <select name="type" defaultValue={params.get('type') ?? ''}>
            <option value="">Any</option>
            {Object.entries(TYPE_LABELS[kind]).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <TimeRangeFields params={params} />
        <div className="audit-buttons">
          <button type="submit" className="button-primary">
            Filter
          </button>
          <button type="button" onClick={() => setParams({ view: 'clients', kind })}>
            Clear
          </button>
          <button type="button" onClick={() => download.mutate()} disabled={download.isPending}>
            {download.isPending ? 'Exporting…' : 'Export CSV'}
          </button>
        </div>
      </form>
      {userInvalid && (
        <p id="client-user-error" className="field-error">
          The user id is a UUID, as on the Users page.
        </p>
      )}
      {download.error !== null && <ErrorNotice error={download.error} title="Export failed" />}
      <ClientRecords key={`${kind} ${JSON.stringify(filter)}`} kind={kind} filter={filter} />
    </section>
  );
}

function ClientRecords({ kind, filter }: { kind: ClientAuditKind; filter: ClientFilter }) {
  const pages = useCursorPages();
  const query = useQuery({
    queryKey: ['client-audit', kind, filter, pages.cursor],
    queryFn: () => list(kind, { ...filter, cursor: pages.cursor, limit: PAGE_SIZE }),
  });
  return (
    <QueryState
      query={query}
      isEmpty={(listing) => listing.page.items.length === 0 && pages.page === 1}
      empty={`No ${KIND_LABELS[kind].toLowerCase()} match these filters.`}
    >
      {(listing) => (
        <>
          <TableWrap label="Client audit records table">
            {listing.kind === 'connections' && <ConnectionsTable items={listing.page.items} />}
            {listing.kind === 'files' && <FilesTable items={listing.page.items} />}
            {listing.kind === 'alarms' && <AlarmsTable items={listing.page.items} />}
          </TableWrap>
          <CursorPager
            label="Client audit pages"
            page={pages.page}
            nextCursor={listing.page.nextCursor}
            onNewer={pages.newer}
            onOlder={pages.older}
          />
        </>
      )}
    </QueryState>
  );
}

function Head({ children }: { children: ReactNode }) {
  return (
    <thead>
      <tr>{children}</tr>
    </thead>
  );
}

function userCell(user: { id: string; username: string | null } | null): ReactNode {
  if (user === null) return <span className="muted">unknown</span>;
  return user.username ?? <span className="mono">{user.id}</span>;
}

function ConnectionsTable({ items }: { items: ConnectionRecord[] }) {
  return (
    <table aria-label="Connections, newest first">
      <Head>
        <th scope="col">Opened</th>
        <th scope="col">Device</th>
        <th scope="col">From</th>
        <th scope="col">User</th>
        <th scope="col">Type</th>
        <th scope="col" className="hide-narrow">
          Authorised by
        </th>
        <th scope="col" className="hide-narrow">
          IP
        </th>
        <th scope="col" className="hide-narrow">
          Closed
        </th>
        <th scope="col" className="hide-narrow">
          Note
        </th>
      </Head>
      <tbody>
        {items.map((item) => (
          <tr key={item.guid}>
            <td>{formatTime(item.openedAt ?? item.createdAt)}</td>
            <td className="mono audit-id">{item.deviceId}</td>
            <td>
              <span className="mono">{item.peerId ?? '—'}</span>
              {item.peerName !== null && <span className="muted"> {item.peerName}</span>}
            </td>
            <td>{userCell(item.user)}</td>
            <td>{typeLabel('connections', item.connType)}</td>
            <td className="hide-narrow">{authLabel(item.primaryAuth, item.twoFactor)}</td>
            <td className="hide-narrow mono audit-id">{item.ip ?? ''}</td>
            <td className="hide-narrow">{item.closedAt === null ? 'open' : formatTime(item.closedAt)}</td>
            <td className="hide-narrow">{item.note ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function fileCount(info: unknown): string {
  if (typeof info !== 'object' || info === null) return '';
  const files = (info as { files?: unknown }).files;
  return Array.isArray(files) ? String(files.length) : '';
}

function FilesTable({ items }: { items: FileRecord[] }) {
  return (
    <table aria-label="File transfers, newest first">
      <Head>
        <th scope="col">Time</th>
        <th scope="col">Device</th>
        <th scope="col">Direction</th>
        <th scope="col">Path</th>
        <th scope="col">User</th>
        <th scope="col" className="hide-narrow">
          Peer
        </th>
        <th scope="col" className="hide-narrow">
          Files
        </th>
      </Head>
      <tbody>
        {items.map((item) => (
          <tr key={item.id}>
            <td>{formatTime(item.createdAt)}</td>
            <td className="mono audit-id">{item.deviceId}</td>
            <td>{typeLabel('files', item.direction)}</td>
            <td className="mono">
              {item.path === '' ? <span className="muted">clipboard</span> : item.path}
              {!item.isFile && <span className="muted"> (folder)</span>}
            </td>
            <td>{userCell(item.user)}</td>
            <td className="hide-narrow mono">{item.peerId ?? ''}</td>
            <td className="hide-narrow">{fileCount(item.info)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AlarmsTable({ items }: { items: AlarmRecord[] }) {
  return (
    <table aria-label="Alarms, newest first">
      <Head>
        <th scope="col">Time</th>
        <th scope="col">Device</th>
        <th scope="col">Alarm</th>
        <th scope="col">User</th>
        <th scope="col" className="hide-narrow">
          Details
        </th>
        <th scope="col" className="hide-narrow">
          Log entry
        </th>
      </Head>
      <tbody>
        {items.map((item) => (
          <tr key={item.id}>
            <td>{formatTime(item.createdAt)}</td>
            <td className="mono audit-id">{item.deviceId}</td>
            <td>{typeLabel('alarms', item.alarmType)}</td>
            <td>{userCell(item.user)}</td>
            <td className="hide-narrow mono">{JSON.stringify(item.info)}</td>
            <td className="hide-narrow mono">{item.auditSeq === null ? '' : `#${item.auditSeq}`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
