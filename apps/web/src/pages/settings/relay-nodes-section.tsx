import { useQuery } from '@tanstack/react-query';

import { api, unwrap } from '../../api/client';
import { formatAgo, formatBytes } from '../../ui/format';
import { QueryState } from '../../ui/query-state';
import { RelayStateBadge } from '../../ui/relay-state-badge';
import { TableWrap } from '../../ui/table-wrap';

/** Nodes refresh their record every 2 s; the live stream refetches ['relays'] when one comes or goes. */
const REFRESH_MS = 15_000;

/** The relay nodes announcing themselves now (GET /api/v1/relays), as signal picks among them. */
export function RelayNodesSection() {
  const query = useQuery({
    queryKey: ['relays'],
    queryFn: () => unwrap(api.GET('/api/v1/relays')),
    refetchInterval: REFRESH_MS,
  });
  return (
    <section className="panel" aria-labelledby="relay-nodes-heading">
      <h2 id="relay-nodes-heading">Relay nodes</h2>
      <p className="muted">
        Signal hands each relayed session to the live node with the most room. While none is live it rotates
        through the fixed list in its RELAY_SERVERS environment variable.
      </p>
      <QueryState query={query}>
        {(relays) => (
          <>
            {!relays.available && (
              <p className="notice notice-warn">{relays.problem ?? 'The relay registry is unavailable.'}</p>
            )}
            {relays.malformed > 0 && (
              <p className="notice notice-error" role="alert">
                {relays.malformed} relay record(s) failed their integrity check and are ignored.
              </p>
            )}
            {relays.available && relays.nodes.length === 0 ? (
              <p className="empty">No relay node is announcing itself.</p>
            ) : (
              relays.nodes.length > 0 && (
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
                            <RelayStateBadge draining={node.draining} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableWrap>
              )
            )}
          </>
        )}
      </QueryState>
    </section>
  );
}
