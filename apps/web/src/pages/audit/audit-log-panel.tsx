import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent } from 'react';
import { useSearchParams } from 'react-router';

import { api, unwrap } from '../../api/client';
import { useCan } from '../../auth/session';
import { ErrorNotice } from '../../ui/error-notice';
import { formatTime } from '../../ui/format';
import { QueryState } from '../../ui/query-state';
import { type AuditEntry, type AuditVerification } from './audit-types';
import { CursorPager, useCursorPages } from '../../ui/cursor-pager';
import { downloadOf, saveBlob } from '../../ui/download';
import { formFields, isoOfLocal } from '../../ui/form-values';
import { TableWrap } from '../../ui/table-wrap';
import { TimeRangeFields } from './time-range-fields';

const FILTER_FIELDS = ['actor', 'action', 'targetType', 'targetId', 'from', 'to'] as const;
const PAGE_SIZE = 50;

interface AuditFilter {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: string;
  to?: string;
}

/** The filter as the api takes it: the address bar's local times as instants. */
function filterOf(params: URLSearchParams): AuditFilter {
  const text = (name: string) => params.get(name) ?? undefined;
  return {
    actor: text('actor'),
    action: text('action'),
    targetType: text('targetType'),
    targetId: text('targetId'),
    from: isoOfLocal(params.get('from')),
    to: isoOfLocal(params.get('to')),
  };
}

function definedOnly(filter: AuditFilter): AuditFilter {
  return Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined));
}

/** The hash-chained operator log: filters, pages, CSV export and chain verification. */
export function AuditLogPanel() {
  const [params, setParams] = useSearchParams();
  const filter = definedOnly(filterOf(params));
  const filterKey = JSON.stringify(filter);
  const canVerify = useCan('audit.verify');

  const apply = (fields: Record<string, string>) => {
    setParams({ view: 'log', ...fields });
  };
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    apply(formFields(event.currentTarget, FILTER_FIELDS));
  };
  const showOnly = (name: (typeof FILTER_FIELDS)[number], value: string) => {
    const current = Object.fromEntries(
      FILTER_FIELDS.flatMap((field) => {
        const existing = params.get(field);
        return existing === null ? [] : [[field, existing]];
      }),
    );
    apply({ ...current, [name]: value });
  };

  return (
    <section aria-labelledby="audit-log-heading">
      <h2 id="audit-log-heading">Operator log</h2>
      <p className="muted">
        Every change made through the console, the API, signal and the relays, each entry chained to the one
        before by its hash. Filters match exactly.
      </p>
      {/* key: the form's defaults follow the address bar (back button, "show only" links). */}
      <form key={params.toString()} className="toolbar audit-filters" onSubmit={onSubmit} role="search">
        <label>
          Actor id
          <input name="actor" defaultValue={params.get('actor') ?? ''} placeholder="user id, signal…" />
        </label>
        <label>
          Action
          <input name="action" defaultValue={params.get('action') ?? ''} placeholder="device.banned" />
        </label>
        <label>
          Target type
          <input name="targetType" defaultValue={params.get('targetType') ?? ''} placeholder="device" />
        </label>
        <label>
          Target id
          <input name="targetId" defaultValue={params.get('targetId') ?? ''} />
        </label>
        <TimeRangeFields params={params} />
        <div className="audit-buttons">
          <button type="submit" className="button-primary">
            Filter
          </button>
          <button type="button" onClick={() => setParams({ view: 'log' })}>
            Clear
          </button>
        </div>
      </form>
      {canVerify && <AuditTools filter={filter} />}
      <AuditEntries key={filterKey} filter={filter} onShowOnly={showOnly} />
    </section>
  );
}

function AuditTools({ filter }: { filter: AuditFilter }) {
  const client = useQueryClient();
  // Both append their own entry (audit.exported, audit.verified): the list shows it afterwards.
  const refreshList = () => client.invalidateQueries({ queryKey: ['audit'] });
  const exportCsv = useMutation({
    mutationFn: () =>
      downloadOf(api.POST('/api/v1/audit/export.csv', { body: filter, parseAs: 'blob' }), 'audit.csv'),
    onSuccess: ({ blob, fileName }) => {
      saveBlob(blob, fileName);
      void refreshList();
    },
  });
  const verify = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/audit/verify')),
    onSuccess: () => void refreshList(),
  });
  return (
    <div className="audit-tools">
      <div className="toolbar">
        <button type="button" onClick={() => exportCsv.mutate()} disabled={exportCsv.isPending}>
          {exportCsv.isPending ? 'Exporting…' : 'Export CSV'}
        </button>
        <button type="button" onClick={() => verify.mutate()} disabled={verify.isPending}>
          {verify.isPending ? 'Verifying…' : 'Verify chain'}
        </button>
        <span className="muted">Export takes the current filters; both are recorded in the log.</span>
      </div>
      {exportCsv.error !== null && <ErrorNotice error={exportCsv.error} title="Export failed" />}
      {verify.error !== null && <ErrorNotice error={verify.error} title="Verification failed" />}
      {verify.data !== undefined && <VerificationResult result={verify.data} />}
    </div>
  );
}

function VerificationResult({ result }: { result: AuditVerification }) {
  const compared =
    result.checkpoints.length === 0
      ? 'No checkpoint outside Postgres was available to compare with.'
      : `Its end matches the checkpoints in ${result.checkpoints.join(' and ')}.`;
  if (result.ok) {
    return (
      <div className="notice notice-ok" role="status">
        <strong>Chain OK.</strong> {result.checked} entries checked up to #{result.headSeq}. {compared}
      </div>
    );
  }
  return (
    <div className="notice notice-error" role="alert">
      <strong>Chain broken at entry #{result.firstBroken.seq}</strong> ({result.firstBroken.reason}):{' '}
      {result.firstBroken.detail}. Entries up to #{result.lastGoodSeq} can still be trusted; {result.checked}{' '}
      were checked.
    </div>
  );
}

function AuditEntries({
  filter,
  onShowOnly,
}: {
  filter: AuditFilter;
  onShowOnly: (field: 'actor' | 'action' | 'targetId', value: string) => void;
}) {
  const pages = useCursorPages();
  const query = useQuery({
    queryKey: ['audit', filter, pages.cursor],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/audit', {
          params: { query: { ...filter, cursor: pages.cursor, limit: PAGE_SIZE } },
        }),
      ),
  });
  return (
    <QueryState
      query={query}
      isEmpty={(page) => page.entries.length === 0 && pages.page === 1}
      empty="No entries match these filters."
    >
      {(page) => (
        <>
          <TableWrap label="Audit entries table">
            <table className="audit-table" aria-label="Audit entries, newest first">
              <thead>
                <tr>
                  <th scope="col" className="hide-narrow">
                    #
                  </th>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col" className="hide-narrow">
                    IP
                  </th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {page.entries.map((entry) => (
                  <AuditRow key={entry.seq} entry={entry} onShowOnly={onShowOnly} />
                ))}
              </tbody>
            </table>
          </TableWrap>
          <CursorPager
            label="Audit pages"
            page={pages.page}
            nextCursor={page.nextCursor}
            onNewer={pages.newer}
            onOlder={pages.older}
          />
        </>
      )}
    </QueryState>
  );
}

function AuditRow({
  entry,
  onShowOnly,
}: {
  entry: AuditEntry;
  onShowOnly: (field: 'actor' | 'action' | 'targetId', value: string) => void;
}) {
  return (
    <tr>
      <td className="mono hide-narrow">{entry.seq}</td>
      <td className="audit-nowrap">{formatTime(entry.at)}</td>
      <td>
        <span className="muted">{entry.actorType}</span>
        {entry.actorId !== null && (
          <>
            {' '}
            <button
              type="button"
              className="link-button mono"
              aria-label={`Show only entries by ${entry.actorId}`}
              onClick={() => onShowOnly('actor', entry.actorId ?? '')}
            >
              <ShortId id={entry.actorId} />
            </button>
          </>
        )}
      </td>
      <td>
        <button
          type="button"
          className="link-button audit-action"
          aria-label={`Show only ${entry.action} entries`}
          onClick={() => onShowOnly('action', entry.action)}
        >
          {entry.action}
        </button>
      </td>
      <td>
        {entry.targetType !== null && <span className="muted">{entry.targetType} </span>}
        {entry.targetId !== null && (
          <button
            type="button"
            className="link-button mono"
            aria-label={`Show only entries about ${entry.targetId}`}
            onClick={() => onShowOnly('targetId', entry.targetId ?? '')}
          >
            <ShortId id={entry.targetId} />
          </button>
        )}
      </td>
      <td className="hide-narrow mono audit-ip">{entry.ip ?? ''}</td>
      <td>
        <details className="audit-details">
          <summary>
            Show{entry.redacted === true && <span className="badge badge-warn">redacted</span>}
          </summary>
          <pre>{JSON.stringify(entry.details, null, 2)}</pre>
          <dl className="facts">
            <dt>Hash</dt>
            <dd className="mono">{entry.hash}</dd>
            <dt>Previous</dt>
            <dd className="mono">{entry.prevHash}</dd>
            <dt>Key</dt>
            <dd className="mono">{entry.keyId}</dd>
          </dl>
        </details>
      </td>
    </tr>
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID as its first 8 characters (the full id in the tooltip and the filter); anything else whole. */
function ShortId({ id }: { id: string | null }) {
  if (id === null) return null;
  if (!UUID.test(id)) return <>{id}</>;
  return <abbr title={id}>{id.slice(0, 8)}…</abbr>;
}
