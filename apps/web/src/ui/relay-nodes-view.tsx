import { type components } from '../api/schema';
import { formatAgo, formatBytes } from './format';
import { TableWrap } from './table-wrap';

type RelayNodes = components['schemas']['RelayNodes'];

/**
 * The relay nodes announcing themselves (GET /api/v1/relays, or the dashboard's copy of it): why the
 * registry cannot be read, records that failed their MAC, and each node's load and state.
 */
export function RelayNodesView({ relays }: { relays: RelayNodes }) {
  return (
    <>
      {!relays.available && (
        <p className="notice notice-warn">{relays.problem ?? 'The relay registry is unavailable.'}</p>
      )}
      {relays.malformed > 0 && (
        <p className="notice notice-error" role="alert">
          {relays.malformed} relay record(s) failed their integrity check and are ignored.
        </p>
      )}
      {relays.available && relays.nodes.length === 0 && (
        <p className="empty">No relay node is announcing itself.</p>
      )}
      {relays.nodes.length > 0 && (
        <TableWrap label="Relay nodes table">
          <table aria-label="Relay nodes">
            <thead>
              <tr>
                <th scope="col">Address</th>
                <th scope="col">Sessions</th>
                <th scope="col" className="hide-narrow">
                  Throughput
                </th>
                <th scope="col" className="hide-narrow">
                  Last report
                </th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {relays.nodes.map((node) => (
                <tr key={node.nodeId}>
                  <td>
                    <code>{node.address}</code>
                    {node.wsAddress !== null && (
                      <div className="muted hide-narrow">
                        WebSocket <code>{node.wsAddress}</code>
                      </div>
                    )}
                    <div className="muted hide-narrow">{node.nodeId}</div>
                  </td>
                  <td>
                    {node.sessions} / {node.capacity}{' '}
                    <span className="muted">({Math.round(node.load * 100)} %)</span>
                  </td>
                  <td className="hide-narrow">{formatBytes(node.bytesPerSecond)}/s</td>
                  <td className="hide-narrow">{formatAgo(node.lastHeartbeatAt)}</td>
                  <td>
                    {node.draining ? (
                      <span className="badge badge-warn">draining</span>
                    ) : (
                      <span className="badge badge-ok">serving</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
