import './devices.css';

import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';

import { useCan } from '../../auth/session';
import { formatAgo, formatTime } from '../../ui/format';
import { PageHeader } from '../../ui/page-header';
import { QueryState } from '../../ui/query-state';
import { TableWrap } from '../../ui/table-wrap';
import { BulkDialog, BulkOutcomeNotice, plural } from './bulk-dialog';
import { DeviceBadges } from './device-badges';
import {
  type DeviceFilters,
  type DeviceView,
  filtersOf,
  hasNarrowingFilter,
  SORT_KEYS,
  type SortKey,
  withFilter,
} from './device-filters';
import { useDeviceGroups, useDeviceList, usePendingCount } from './devices-api';
import { type BulkAction, type BulkResult, type Device, OS_FAMILIES } from './devices-types';

const SEARCH_DEBOUNCE_MS = 300;

const SORT_LABELS: Record<SortKey, string> = {
  rustdeskId: 'ID',
  hostname: 'Hostname',
  os: 'OS',
  lastSeenAt: 'Last seen',
  createdAt: 'First seen',
};

const OS_LABELS: Record<string, string> = {
  windows: 'Windows',
  macos: 'macOS',
  linux: 'Linux',
  android: 'Android',
  ios: 'iOS',
  other: 'Other',
  unknown: 'Not reported',
};

const VIEWS: { view: DeviceView; label: string }[] = [
  { view: 'all', label: 'All devices' },
  { view: 'pending', label: 'Pending approval' },
  { view: 'deleted', label: 'Deleted' },
];

/**
 * The device list: a server-side search and filters kept in the address bar, keyset paging (the api
 * never counts or loads the whole fleet), and bulk approve / ban / delete of the selected rows.
 */
export function DevicesPage() {
  const [params, setParams] = useSearchParams();
  const filters = filtersOf(params);
  const filterKey = params.toString();
  const canManage = useCan('device.manage');
  const canBan = useCan('device.ban');

  // The search box answers each key at once; the address bar (and so the query) follows once typing
  // pauses. A change of the address from outside (back, a link) resets the box.
  const [search, setSearch] = useState(filters.q);
  const [lastQ, setLastQ] = useState(filters.q);
  if (lastQ !== filters.q) {
    setLastQ(filters.q);
    setSearch(filters.q);
  }
  const searchTimer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(searchTimer.current), []);
  const typeSearch = (value: string) => {
    setSearch(value);
    window.clearTimeout(searchTimer.current);
    searchTimer.current = window.setTimeout(() => {
      setParams((current) => withFilter(current, 'q', value.trim()), { replace: true });
    }, SEARCH_DEBOUNCE_MS);
  };

  // Keyset paging: the cursors that led here, so "Previous" needs no offset. New filters start over.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [selected, setSelected] = useState<ReadonlyMap<string, Device>>(new Map());
  const [lastFilterKey, setLastFilterKey] = useState(filterKey);
  if (lastFilterKey !== filterKey) {
    setLastFilterKey(filterKey);
    setCursors([undefined]);
    setSelected(new Map());
  }
  const cursor = cursors.at(-1);
  const list = useDeviceList(filters, cursor);
  const pendingCount = usePendingCount(true);
  const groups = useDeviceGroups();
  const [bulk, setBulk] = useState<BulkAction>();
  const [outcome, setOutcome] = useState<BulkResult>();

  const setFilter = (key: string, value: string | undefined) =>
    setParams((current) => withFilter(current, key, value));

  const items = list.data?.items ?? [];
  const allOnPageSelected = items.length > 0 && items.every((device) => selected.has(device.id));
  const toggle = (device: Device) => {
    const next = new Map(selected);
    if (next.has(device.id)) next.delete(device.id);
    else next.set(device.id, device);
    setSelected(next);
  };
  const togglePage = () => {
    const next = new Map(selected);
    for (const device of items) {
      if (allOnPageSelected) next.delete(device.id);
      else next.set(device.id, device);
    }
    setSelected(next);
  };
  const sortBy = (key: SortKey) => {
    const order = filters.sort === key && filters.order === 'asc' ? 'desc' : 'asc';
    setParams((current) => withFilter(withFilter(current, 'sort', key), 'order', order));
  };

  const selectedDevices = [...selected.values()];
  return (
    <>
      <PageHeader title="Devices" />
      <nav className="view-tabs" aria-label="Device views">
        {VIEWS.map(({ view, label }) => (
          <Link
            key={view}
            to={{ search: withFilter(new URLSearchParams(), 'view', view).toString() }}
            aria-current={filters.view === view ? 'page' : undefined}
          >
            {label}
            {view === 'pending' && typeof pendingCount.data === 'number' && (
              <span className="count-badge" aria-label={`${pendingCount.data} waiting`}>
                {pendingCount.data}
              </span>
            )}
          </Link>
        ))}
      </nav>

      <form className="toolbar device-filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label className="grow">
          Search
          <input
            type="search"
            value={search}
            maxLength={64}
            placeholder="ID, hostname, user, note…"
            onChange={(event) => typeSearch(event.target.value)}
          />
        </label>
        <FlagSelect
          label="Online"
          value={filters.online}
          yes="Online"
          no="Offline"
          onChange={(value) => setFilter('online', value)}
        />
        {filters.view !== 'pending' && (
          <label>
            Admission
            <select
              value={filters.admission ?? ''}
              onChange={(event) => setFilter('admission', event.target.value)}
            >
              <option value="">Any</option>
              <option value="admitted">Admitted</option>
              <option value="pending">Pending</option>
              <option value="rejected">Rejected</option>
            </select>
          </label>
        )}
        <FlagSelect
          label="Banned"
          value={filters.banned}
          yes="Banned"
          no="Not banned"
          onChange={(value) => setFilter('banned', value)}
        />
        <label>
          OS
          <select value={filters.os ?? ''} onChange={(event) => setFilter('os', event.target.value)}>
            <option value="">Any</option>
            {[...OS_FAMILIES, 'unknown'].map((os) => (
              <option key={os} value={os}>
                {OS_LABELS[os]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Group
          <select value={filters.group} onChange={(event) => setFilter('group', event.target.value)}>
            <option value="">Any</option>
            {filters.group !== '' && !groups.data?.some((group) => group.name === filters.group) && (
              <option value={filters.group}>{filters.group}</option>
            )}
            {groups.data?.map((group) => (
              <option key={group.id} value={group.name}>
                {group.name}
              </option>
            ))}
          </select>
        </label>
        <TagFilter key={filters.tag} tag={filters.tag} onChange={(tag) => setFilter('tag', tag)} />
        <label className="sort-field">
          Sort by
          <select
            value={`${filters.sort}:${filters.order}`}
            onChange={(event) => {
              const [key, order] = event.target.value.split(':');
              setParams((current) => withFilter(withFilter(current, 'sort', key), 'order', order));
            }}
          >
            {SORT_KEYS.flatMap((key) => [
              <option key={`${key}:asc`} value={`${key}:asc`}>
                {SORT_LABELS[key]} {key.endsWith('At') ? '(oldest first)' : '(A–Z)'}
              </option>,
              <option key={`${key}:desc`} value={`${key}:desc`}>
                {SORT_LABELS[key]} {key.endsWith('At') ? '(newest first)' : '(Z–A)'}
              </option>,
            ])}
          </select>
        </label>
        {hasNarrowingFilter(filters) && (
          <button
            type="button"
            onClick={() => {
              window.clearTimeout(searchTimer.current);
              setSearch('');
              setParams(withFilter(new URLSearchParams(), 'view', filters.view));
            }}
          >
            Clear filters
          </button>
        )}
      </form>

      {outcome !== undefined && (
        <BulkOutcomeNotice result={outcome} onDismiss={() => setOutcome(undefined)} />
      )}
      {selected.size > 0 && (
        <div className="bulk-bar" role="region" aria-label="Selected devices">
          <span>{plural(selected.size, 'device')} selected</span>
          {canManage && filters.view !== 'deleted' && (
            <button type="button" onClick={() => setBulk('approve')}>
              Approve
            </button>
          )}
          {canBan && (
            <button type="button" onClick={() => setBulk('ban')}>
              Ban
            </button>
          )}
          {canBan && (
            <button type="button" onClick={() => setBulk('unban')}>
              Unban
            </button>
          )}
          {canManage && filters.view !== 'deleted' && (
            <button type="button" className="button-danger" onClick={() => setBulk('delete')}>
              Delete
            </button>
          )}
          <button type="button" className="link-button" onClick={() => setSelected(new Map())}>
            Clear selection
          </button>
        </div>
      )}
      {bulk !== undefined && (
        <BulkDialog
          action={bulk}
          devices={selectedDevices}
          onClose={(result) => {
            setBulk(undefined);
            if (result !== undefined) {
              setOutcome(result);
              setSelected(new Map());
            }
          }}
        />
      )}

      <QueryState query={list} isEmpty={(page) => page.items.length === 0} empty={emptyText(filters)}>
        {(page) => (
          <>
            <TableWrap label="Device list">
              <table className={list.isPlaceholderData ? 'device-table stale' : 'device-table'}>
                <caption className="visually-hidden">
                  Devices{page.total === null ? '' : `, ${page.total} matching`}
                </caption>
                <thead>
                  <tr>
                    <th scope="col" className="select-cell">
                      <input
                        type="checkbox"
                        aria-label="Select every device on this page"
                        checked={allOnPageSelected}
                        onChange={togglePage}
                      />
                    </th>
                    <SortHeader label="ID" sortKey="rustdeskId" filters={filters} onSort={sortBy} />
                    <SortHeader label="Hostname" sortKey="hostname" filters={filters} onSort={sortBy} />
                    <SortHeader
                      label="OS"
                      sortKey="os"
                      filters={filters}
                      onSort={sortBy}
                      className="hide-narrow"
                    />
                    <th scope="col">State</th>
                    <th scope="col" className="hide-narrow">
                      Group
                    </th>
                    <th scope="col" className="hide-narrow">
                      Tags
                    </th>
                    <th scope="col" className="hide-narrow">
                      Last IP
                    </th>
                    <SortHeader
                      label="Last seen"
                      sortKey="lastSeenAt"
                      filters={filters}
                      onSort={sortBy}
                      className="hide-narrow"
                    />
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((device) => (
                    <tr key={device.id} className={selected.has(device.id) ? 'selected' : undefined}>
                      <td className="select-cell">
                        <input
                          type="checkbox"
                          aria-label={`Select device ${device.id}`}
                          checked={selected.has(device.id)}
                          onChange={() => toggle(device)}
                        />
                      </td>
                      <td>
                        <Link to={`/devices/${encodeURIComponent(device.id)}`} className="mono">
                          {device.id}
                        </Link>
                      </td>
                      <td className="wrap">{device.hostname ?? <span className="muted">—</span>}</td>
                      <td className="hide-narrow wrap">{device.os ?? <span className="muted">—</span>}</td>
                      <td>
                        <DeviceBadges device={device} />
                      </td>
                      <td className="hide-narrow">
                        {device.group?.name ?? <span className="muted">—</span>}
                      </td>
                      <td className="hide-narrow">
                        {device.tags.map((tag) => (
                          <span key={tag} className="tag">
                            {tag}
                          </span>
                        ))}
                      </td>
                      <td className="hide-narrow mono">
                        {device.lastIp ?? <span className="muted">—</span>}
                      </td>
                      <td className="hide-narrow">
                        <time dateTime={device.lastSeenAt ?? undefined} title={formatTime(device.lastSeenAt)}>
                          {formatAgo(device.lastSeenAt)}
                        </time>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
            <div className="pager">
              <button
                type="button"
                disabled={cursors.length <= 1}
                onClick={() => setCursors(cursors.slice(0, -1))}
              >
                Previous
              </button>
              <span className="muted" aria-live="polite">
                Page {cursors.length}
                {page.total !== null && ` · ${plural(page.total, 'device')}`}
              </span>
              <button
                type="button"
                disabled={page.nextCursor === null || list.isPlaceholderData}
                onClick={() => {
                  if (page.nextCursor !== null) setCursors([...cursors, page.nextCursor]);
                }}
              >
                Next
              </button>
            </div>
          </>
        )}
      </QueryState>
    </>
  );
}

function emptyText(filters: DeviceFilters): string {
  if (hasNarrowingFilter(filters)) return 'No device matches these filters.';
  if (filters.view === 'pending') return 'No device is waiting for approval.';
  if (filters.view === 'deleted') return 'No deleted devices.';
  return 'No device has registered yet.';
}

function FlagSelect({
  label,
  value,
  yes,
  no,
  onChange,
}: {
  label: string;
  value: 'true' | 'false' | undefined;
  yes: string;
  no: string;
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {label}
      <select value={value ?? ''} onChange={(event) => onChange(event.target.value)}>
        <option value="">Any</option>
        <option value="true">{yes}</option>
        <option value="false">{no}</option>
      </select>
    </label>
  );
}

/** Tags match exactly, so the filter applies on Enter or leaving the field, not per key. */
function TagFilter({ tag, onChange }: { tag: string; onChange: (tag: string) => void }) {
  const [value, setValue] = useState(tag);
  const apply = () => {
    if (value.trim() !== tag) onChange(value.trim());
  };
  return (
    <label>
      Tag
      <input
        value={value}
        maxLength={64}
        onChange={(event) => setValue(event.target.value)}
        onBlur={apply}
        onKeyDown={(event) => {
          if (event.key === 'Enter') apply();
        }}
      />
    </label>
  );
}

function SortHeader({
  label,
  sortKey,
  filters,
  onSort,
  className,
}: {
  label: string;
  sortKey: SortKey;
  filters: DeviceFilters;
  onSort: (key: SortKey) => void;
  className?: string;
}) {
  const active = filters.sort === sortKey;
  const direction = filters.order === 'asc' ? 'ascending' : 'descending';
  return (
    <th scope="col" className={className} aria-sort={active ? direction : undefined}>
      <button type="button" className="sort-button" onClick={() => onSort(sortKey)}>
        {label}
        <span aria-hidden="true">{active ? (filters.order === 'asc' ? ' ▲' : ' ▼') : ''}</span>
      </button>
    </th>
  );
}
