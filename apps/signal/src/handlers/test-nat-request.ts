import { type SignalConnection } from '../connection';

// TestNatRequest on TCP 21116, 21115 or WS (docs/protocol.md §5.8; rustdesk-server handle_tcp and
// handle_listener2): the answer is the TCP source port we see. A client compares the ports seen on
// 21116 and 21115 from one local port to tell ASYMMETRIC from SYMMETRIC NAT. No ConfigUpdate: the
// server serial stays 0, so `cu` is never due. Not answered over UDP: see signal-core.ts.

export function handleTestNatRequest(connection: SignalConnection): void {
  connection.sendMessage({ $case: 'testNatResponse', value: { port: connection.remote.port } });
}
