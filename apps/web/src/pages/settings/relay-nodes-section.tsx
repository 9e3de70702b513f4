import { useQuery } from '@tanstack/react-query';

import { api, unwrap } from '../../api/client';
import { QueryState } from '../../ui/query-state';
import { RelayNodesView } from '../../ui/relay-nodes-view';

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
      <QueryState query={query}>{(relays) => <RelayNodesView relays={relays} />}</QueryState>
    </section>
  );
}
