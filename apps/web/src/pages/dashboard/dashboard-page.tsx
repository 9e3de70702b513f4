import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';

import './dashboard.css';

import { api, unwrap } from '../../api/client';
import { type components } from '../../api/schema';
import { formatAgo, formatTime } from '../../ui/format';
import { PageHeader } from '../../ui/page-header';
import { QueryState } from '../../ui/query-state';
import { RelayNodesView } from '../../ui/relay-nodes-view';
import { TableWrap } from '../../ui/table-wrap';
import { OnlineChart } from './online-chart';

type Dashboard = components['schemas']['Dashboard'];

/** Counts and series age slowly; the live stream refetches at once when a device or relay changes. */
const REFRESH_MS = 30_000;

export function DashboardPage() {
  const query = useQuery({
    queryKey: ['dashboard'],
    queryFn: () => unwrap(api.GET('/api/v1/dashboard')),
    refetchInterval: REFRESH_MS,
  });
  return (
    <>
      <PageHeader title="Dashboard" />
      <QueryState query={query}>{(dashboard) => <DashboardView dashboard={dashboard} />}</QueryState>
    </>
  );
}

function DashboardView({ dashboard }: { dashboard: Dashboard }) {
  const { devices, online24h, refusals24h, relays, events, audit } = dashboard;
  return (
    <>
      {dashboard.unavailable.map((gap) => (
        <p key={gap.section} className="notice notice-warn" role="status">
          {gap.section}: {gap.reason}
        </p>
      ))}
      {devices !== null && (
        <section className="tiles" aria-label="Devices">
          <Tile label="Online now" value={devices.online} to="/devices?online=true" />
          <Tile label="Devices" value={devices.total} to="/devices" />
          <Tile label="Pending approval" value={devices.pending} to="/devices?pending=true" />
          <Tile label="Banned" value={devices.banned} to="/devices?banned=true" />
          {refusals24h !== null && <Tile label="Refused (24 h)" value={refusals24h.total} />}
        </section>
      )}
      <div className="grid">
        {online24h !== null && (
          <section className="panel" aria-labelledby="online-title">
            <h2 id="online-title">Devices online, last 24 hours</h2>
            <OnlineChart points={online24h.points} />
          </section>
        )}
        {refusals24h !== null && <Refusals refusals={refusals24h} />}
        {relays !== undefined && relays !== null && <Relays relays={relays} />}
        {events !== undefined && events !== null && <EventHealth events={events} />}
        {audit !== undefined && audit !== null && <AuditChain audit={audit} />}
      </div>
      {audit !== undefined && audit !== null && <LatestAudit entries={audit.latest} />}
    </>
  );
}

function Tile({ label, value, to }: { label: string; value: number; to?: string }) {
  const body = (
    <>
      <span className="value">{value.toLocaleString()}</span>
      <span className="label">{label}</span>
    </>
  );
  return to === undefined ? (
    <div className="tile">{body}</div>
  ) : (
    <Link className="tile tile-link" to={to}>
      {body}
    </Link>
  );
}

function Refusals({ refusals }: { refusals: NonNullable<Dashboard['refusals24h']> }) {
  const reasons = Object.entries(refusals.byReason).sort(([, a], [, b]) => b - a);
  return (
    <section className="panel" aria-labelledby="refusals-title">
      <h2 id="refusals-title">Registrations refused, last 24 hours</h2>
      {reasons.length === 0 ? (
        <p className="empty">None refused since {formatTime(refusals.since)}.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Reason</th>
              <th scope="col">Attempts</th>
            </tr>
          </thead>
          <tbody>
            {reasons.map(([reason, count]) => (
              <tr key={reason}>
                <td>{reason}</td>
                <td>{count.toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Relays({ relays }: { relays: NonNullable<Dashboard['relays']> }) {
  return (
    <section className="panel" aria-labelledby="relays-title">
      <h2 id="relays-title">Relay nodes</h2>
      <RelayNodesView relays={relays} />
    </section>
  );
}

function EventHealth({ events }: { events: NonNullable<Dashboard['events']> }) {
  const healthy = events.apiRedisConnected && events.unhealthy === 0;
  return (
    <section className="panel" aria-labelledby="events-title">
      <h2 id="events-title">Ban propagation and events</h2>
      <p>
        {healthy ? (
          <span className="badge badge-ok">healthy</span>
        ) : (
          <span className="badge badge-danger">attention</span>
        )}{' '}
        {events.apiRedisConnected
          ? 'The api reaches Redis.'
          : 'The api cannot reach Redis: bans do not propagate.'}{' '}
        {events.publishedSeq !== null && <>Last event #{events.publishedSeq}.</>}
      </p>
      {events.instances.length === 0 ? (
        <p className="empty">No signal or relay instance has reported in the last 30 seconds.</p>
      ) : (
        <TableWrap label="Signal and relay instances table">
          <table>
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">Events</th>
                <th scope="col">Behind</th>
                <th scope="col" className="hide-narrow">
                  Reported
                </th>
              </tr>
            </thead>
            <tbody>
              {events.instances.map((instance) => (
                <tr key={`${instance.service}:${instance.instanceId}`}>
                  <td>
                    {instance.service} <code>{instance.instanceId}</code>
                  </td>
                  <td>
                    {instance.eventsReady ? (
                      <span className="badge badge-ok">in sync</span>
                    ) : (
                      <span className="badge badge-danger">resyncing</span>
                    )}
                  </td>
                  <td>{instance.lag ?? '?'}</td>
                  <td className="hide-narrow">{formatAgo(instance.reportedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}

function AuditChain({ audit }: { audit: NonNullable<Dashboard['audit']> }) {
  const last = audit.lastVerification;
  return (
    <section className="panel" aria-labelledby="chain-title">
      <h2 id="chain-title">Audit chain</h2>
      {last === null ? (
        <p>
          Never verified. <Link to="/audit">Verify it on the audit page</Link>.
        </p>
      ) : last.ok ? (
        <p>
          <span className="badge badge-ok">intact</span> Verified {formatAgo(last.at)}
          {last.checked !== null && <> ({last.checked.toLocaleString()} entries)</>}.
        </p>
      ) : (
        <p className="notice notice-error" role="alert">
          <strong>Broken</strong> at entry #{last.brokenSeq}, found {formatTime(last.at)}.{' '}
          <Link to="/audit">See the audit log</Link>.
        </p>
      )}
    </section>
  );
}

function LatestAudit({ entries }: { entries: NonNullable<Dashboard['audit']>['latest'] }) {
  return (
    <section className="panel" aria-labelledby="latest-title">
      <h2 id="latest-title">Latest audit entries</h2>
      {entries.length === 0 ? (
        <p className="empty">Nothing recorded yet.</p>
      ) : (
        <TableWrap label="Latest audit entries table">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Who</th>
                <th scope="col" className="hide-narrow">
                  Target
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.seq}>
                  <td>{formatAgo(entry.at)}</td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td>{entry.actorId ?? entry.actorType}</td>
                  <td className="hide-narrow">
                    {entry.targetType !== null && (
                      <>
                        {entry.targetType} <code>{entry.targetId}</code>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}
