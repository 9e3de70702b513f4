import { type HttpProxyRequest } from '@switchboard/protocol';

import { proxyFailure, type ProxyResult } from '../api-proxy/api-forwarder';
import { type SignalConnection } from '../connection';
import { type RendezvousContext } from '../rendezvous-context';
import { type StreamOutcome } from './stream-outcome';

// HttpProxyRequest on TCP 21116 (docs/client-api.md §10): the client's API call tunnelled through
// signal when HTTP to the api failed or `use-raw-tcp-for-api` is set (rustdesk src/common.rs
// tcp_proxy_request). The client always secures the connection first, and a request on a link that
// is not secured is refused: it would carry an access token in the clear. The answer comes later, so
// the connection stays open until its last request is answered; every path answers exactly once.

export function handleHttpProxyRequest(
  context: RendezvousContext,
  connection: SignalConnection,
  request: HttpProxyRequest,
): StreamOutcome {
  const forwarder = context.apiProxy;
  if (connection.channel?.state !== 'secured' || forwarder === undefined) {
    const refused =
      forwarder === undefined
        ? proxyFailure(503, 'api tunnel not enabled', 'not-enabled')
        : proxyFailure(403, 'secure TCP required', 'not-secured');
    answer(context, connection, refused);
    return 'handled';
  }
  if (connection.proxyRequests >= context.limits.apiProxyPerConnection) {
    answer(context, connection, proxyFailure(503, 'too many requests on this connection', 'link-busy'));
    return 'keep-open';
  }
  connection.proxyRequests++;
  void forwarder.forward(request, connection.remote.address).then(
    (result) => finish(context, connection, result),
    // forward() never rejects; this is the belt to its braces.
    () => finish(context, connection, proxyFailure(502, 'api unreachable', 'api-unreachable')),
  );
  return 'keep-open';
}

function finish(context: RendezvousContext, connection: SignalConnection, result: ProxyResult): void {
  connection.proxyRequests--;
  answer(context, connection, result);
  // The client reads one answer and hangs up (src/common.rs); a registration link stays up.
  if (connection.proxyRequests === 0 && connection.registeredPeer === undefined && !connection.awaitingPeer) {
    connection.close('handled');
  }
}

function answer(context: RendezvousContext, connection: SignalConnection, result: ProxyResult): void {
  context.metrics.apiProxy(result.outcome);
  connection.sendMessage({ $case: 'httpProxyResponse', value: result.response });
}
