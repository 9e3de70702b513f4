import { ConnType, RequestRelay } from '@switchboard/protocol';

import { FramedLink, type LinkTls } from './framed-link';
import { isWebSocketUrl, parseHostPort, RELAY_PORT, relayWebSocketUrl } from './host-port';

// Joining hbbr (docs/protocol.md §6): connect, send RequestRelay, and from then on the link carries the
// other peer's frames. The controlling side names the peer it wants (src/client.rs create_relay);
// the controlled side sends only uuid and licence key (src/server.rs create_relay_connection_).

export interface JoinRelayOptions {
  /** `host[:port]` as hbbs hands it out (port defaults to 21117), or a ws(s):// URL. */
  relay: string;
  uuid: string;
  /** The client's configured Key; hbbr closes silently on a mismatch when it checks keys. */
  licenceKey?: string;
  /** Set by the controlling side only. */
  peerId?: string;
  connType?: ConnType;
  /** Join over WebSocket, as a client with WebSocket on does (`host:port` → ws://host:port+2). */
  webSocket?: boolean;
  localAddress?: string;
  timeoutMs: number;
  /** TLS to the relay's TCP port, or wss:// to its WebSocket port. */
  tls?: LinkTls;
}

export async function joinRelay(options: JoinRelayOptions): Promise<FramedLink> {
  const link =
    options.webSocket || isWebSocketUrl(options.relay)
      ? await FramedLink.connectWebSocket(relayWebSocketUrl(options.relay, options.tls !== undefined), {
          localAddress: options.localAddress,
          timeoutMs: options.timeoutMs,
          tls: options.tls,
        })
      : await FramedLink.connectTcp({
          ...parseHostPort(options.relay, RELAY_PORT),
          localAddress: options.localAddress,
          timeoutMs: options.timeoutMs,
          tls: options.tls,
        });
  try {
    await link.sendRendezvous({
      $case: 'requestRelay',
      value: RequestRelay.fromPartial({
        id: options.peerId ?? '',
        uuid: options.uuid,
        licenceKey: options.licenceKey ?? '',
        connType: options.connType ?? ConnType.DEFAULT_CONN,
      }),
    });
  } catch (error) {
    link.close();
    throw error;
  }
  return link;
}
