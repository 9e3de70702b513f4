import './devices.css';

import { type ReactNode, useState } from 'react';
import { Link, useParams } from 'react-router';

import { isApiError } from '../../api/api-error';
import { useCan } from '../../auth/session';
import { CopyButton } from '../../ui/copy-button';
import { formatAgo, formatTime } from '../../ui/format';
import { PageHeader } from '../../ui/page-header';
import { QueryState } from '../../ui/query-state';
import { RowButton } from '../../ui/row-actions';
import { TableWrap } from '../../ui/table-wrap';
import { DeviceActionDialog, type DialogKind } from './device-action-dialog';
import { DeviceBadges } from './device-badges';
import { DeviceEditForm } from './device-edit-form';
import { useDevice, useDeviceConnections } from './devices-api';
import { type Connection, type DeviceDetails } from './devices-types';

const STRATEGY_VIA = { device: 'assigned to this device', user: 'from its owner', group: 'from its group' };

/** One device: what it reported, where it was seen, how it is managed, who connected to it. */
export function DevicePage() {
  const id = useParams()['id'] ?? '';
  const device = useDevice(id);
  return (
    <>
      <PageHeader title={`Device ${id}`} actions={<CopyButton text={id} label="Copy ID" />} />
      <p>
        <Link to="/devices">← All devices</Link>
      </p>
      {isApiError(device.error, 404) ? (
        <p className="notice notice-warn" role="alert">
          There is no device with the id <code>{id}</code>. It may have been renamed or purged.
        </p>
      ) : (
        <QueryState query={device}>{(details) => <DeviceDetailsView device={details} />}</QueryState>
      )}
    </>
  );
}

function DeviceDetailsView({ device }: { device: DeviceDetails }) {
  const canManage = useCan('device.manage');
  const canBan = useCan('device.ban');
  const canDisconnect = useCan('device.disconnect');
  const canSeeConnections = useCan('audit.view');
  const [dialog, setDialog] = useState<DialogKind>();
  const [editing, setEditing] = useState(false);
  const [done, setDone] = useState<string>();

  const actions: { kind: DialogKind; label: string; danger?: boolean; show: boolean }[] = [
    { kind: { kind: 'approve' }, label: 'Approve', show: canManage && device.admission !== 'admitted' },
    { kind: { kind: 'ban' }, label: 'Ban', danger: true, show: canBan && !device.banned },
    { kind: { kind: 'unban' }, label: 'Unban', show: canBan && device.banned },
    { kind: { kind: 'change-id' }, label: 'Change ID', show: canManage && !device.deleted },
    { kind: { kind: 'revoke' }, label: 'Revoke', danger: true, show: canManage && !device.revoked },
    { kind: { kind: 'delete' }, label: 'Delete', danger: true, show: canManage && !device.deleted },
  ];
  const shown = actions.filter((action) => action.show);

  return (
    <>
      <div className="device-state">
        <DeviceBadges device={device} />
        {device.banned && device.banReason !== null && (
          <span className="muted">Ban reason: {device.banReason}</span>
        )}
      </div>
      {done !== undefined && (
        <p className="notice notice-ok" role="status">
          {done}{' '}
          <button type="button" className="link-button" onClick={() => setDone(undefined)}>
            Dismiss
          </button>
        </p>
      )}
      {shown.length > 0 && (
        <div className="device-actions" role="group" aria-label="Device actions">
          {shown.map((action) => (
            <button
              key={action.label}
              type="button"
              className={action.danger === true ? 'button-danger-outline' : undefined}
              onClick={() => setDialog(action.kind)}
            >
              {action.label}
            </button>
          ))}
        </div>
      )}
      {dialog !== undefined && (
        <DeviceActionDialog
          device={device}
          dialog={dialog}
          onClose={(message) => {
            setDialog(undefined);
            if (message !== undefined) setDone(message);
          }}
        />
      )}

      <div className="grid device-grid">
        <section className="panel" aria-labelledby="system-heading">
          <h2 id="system-heading">System</h2>
          <dl className="facts">
            <Fact term="OS">{device.os}</Fact>
            <Fact term="Client version">{device.version}</Fact>
            <Fact term="Hostname">{device.hostname}</Fact>
            <Fact term="OS user">{device.osUsername}</Fact>
            <Fact term="CPU">{device.cpu}</Fact>
            <Fact term="Memory">{device.memory}</Fact>
          </dl>
        </section>
        <section className="panel" aria-labelledby="presence-heading">
          <h2 id="presence-heading">Presence</h2>
          <dl className="facts">
            <Fact term="State">{device.online ? 'Online' : 'Offline'}</Fact>
            <Fact term="Last IP">{device.lastIp === null ? null : <code>{device.lastIp}</code>}</Fact>
            <Fact term="Last seen">
              {device.lastSeenAt === null
                ? null
                : `${formatTime(device.lastSeenAt)} (${formatAgo(device.lastSeenAt)})`}
            </Fact>
            <Fact term="First seen">{formatTime(device.createdAt)}</Fact>
            <Fact term="Admission">
              {device.admission}
              {device.admittedAt !== null &&
                ` since ${formatTime(device.admittedAt)}${device.admittedBy === null ? '' : ` by ${device.admittedBy}`}`}
            </Fact>
            {device.registrationToken !== null && (
              <Fact term="Registered with">
                token {device.registrationToken.name} (<code>{device.registrationToken.prefix}</code>)
              </Fact>
            )}
            {device.banned && (
              <Fact term="Banned">
                {formatTime(device.bannedAt)}
                {device.bannedBy === null ? '' : ` by ${device.bannedBy}`}
              </Fact>
            )}
            {device.revoked && <Fact term="Revoked">{formatTime(device.revokedAt)}</Fact>}
            {device.deleted && <Fact term="Deleted">{formatTime(device.deletedAt)}</Fact>}
          </dl>
        </section>
        <section className="panel" aria-labelledby="management-heading">
          <div className="panel-heading">
            <h2 id="management-heading">Management</h2>
            {canManage && !editing && (
              <button type="button" className="button-small" onClick={() => setEditing(true)}>
                Edit note, tags and group
              </button>
            )}
          </div>
          {editing ? (
            <DeviceEditForm
              device={device}
              onDone={(saved) => {
                setEditing(false);
                if (saved) setDone('Saved.');
              }}
            />
          ) : (
            <dl className="facts">
              <Fact term="Group">{device.group?.name}</Fact>
              <Fact term="Owner">{device.owner?.username}</Fact>
              <Fact term="Strategy">
                {device.strategy === undefined || device.strategy === null
                  ? null
                  : `${device.strategy.name} (${STRATEGY_VIA[device.strategy.via]})`}
              </Fact>
              <Fact term="Tags">
                {device.tags.length === 0
                  ? null
                  : device.tags.map((tag) => (
                      <span key={tag} className="tag">
                        {tag}
                      </span>
                    ))}
              </Fact>
              <Fact term="Note">
                {device.note === null || device.note === '' ? null : (
                  <span className="note-text">{device.note}</span>
                )}
              </Fact>
            </dl>
          )}
        </section>
        <section className="panel" aria-labelledby="links-heading">
          <h2 id="links-heading">Linked devices</h2>
          {device.links.length === 0 ? (
            <p className="empty">No linked devices. Linked devices are revoked together.</p>
          ) : (
            <ul className="link-list">
              {device.links.map((link) => (
                <li key={link.id}>
                  <Link to={`/devices/${encodeURIComponent(link.id)}`} className="mono">
                    {link.id}
                  </Link>{' '}
                  <span className="muted">linked {formatTime(link.linkedAt)}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      <section className="panel" aria-labelledby="connections-heading">
        <h2 id="connections-heading">Connections</h2>
        {canSeeConnections ? (
          <Connections
            deviceId={device.id}
            canDisconnect={canDisconnect}
            onDisconnect={(connId) => setDialog({ kind: 'disconnect', connId })}
          />
        ) : (
          <p className="muted">Viewing connection records needs the audit.view permission.</p>
        )}
      </section>
    </>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  const missing = children === null || children === undefined || children === '';
  return (
    <>
      <dt>{term}</dt>
      <dd>{missing ? <span className="muted">—</span> : children}</dd>
    </>
  );
}

const CONN_TYPES: Record<number, string> = {
  0: 'Remote control',
  1: 'File transfer',
  2: 'Port forward',
  3: 'Camera',
  4: 'Terminal',
};

function Connections({
  deviceId,
  canDisconnect,
  onDisconnect,
}: {
  deviceId: string;
  canDisconnect: boolean;
  onDisconnect: (connId: number) => void;
}) {
  const connections = useDeviceConnections(deviceId, true);
  return (
    <QueryState
      query={connections}
      isEmpty={(page) => page.items.length === 0}
      empty="No connection to this device has been reported by its RustDesk client."
    >
      {(page) => (
        <TableWrap label="Connection records">
          <table>
            <thead>
              <tr>
                <th scope="col">Opened</th>
                <th scope="col">From</th>
                <th scope="col" className="hide-narrow">
                  User
                </th>
                <th scope="col" className="hide-narrow">
                  Type
                </th>
                <th scope="col" className="hide-narrow">
                  IP
                </th>
                <th scope="col">Closed</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((connection) => (
                <ConnectionRow
                  key={connection.guid}
                  connection={connection}
                  canDisconnect={canDisconnect}
                  onDisconnect={onDisconnect}
                />
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </QueryState>
  );
}

function ConnectionRow({
  connection,
  canDisconnect,
  onDisconnect,
}: {
  connection: Connection;
  canDisconnect: boolean;
  onDisconnect: (connId: number) => void;
}) {
  const from =
    connection.peerId === null
      ? null
      : `${connection.peerId}${connection.peerName === null ? '' : ` (${connection.peerName})`}`;
  return (
    <tr>
      <td>{formatTime(connection.openedAt ?? connection.createdAt)}</td>
      <td className="wrap">{from ?? <span className="muted">—</span>}</td>
      <td className="hide-narrow">{connection.user?.username ?? <span className="muted">—</span>}</td>
      <td className="hide-narrow">
        {connection.connType === null
          ? '—'
          : (CONN_TYPES[connection.connType] ?? `type ${connection.connType}`)}
      </td>
      <td className="hide-narrow mono">{connection.ip ?? '—'}</td>
      <td>
        {connection.closedAt !== null ? (
          formatTime(connection.closedAt)
        ) : (
          <span className="open-connection">
            <span className="badge badge-ok">open</span>
            {canDisconnect && (
              <RowButton
                label={`End session ${connection.connId}`}
                onClick={() => onDisconnect(connection.connId)}
              >
                End session
              </RowButton>
            )}
          </span>
        )}
      </td>
    </tr>
  );
}
