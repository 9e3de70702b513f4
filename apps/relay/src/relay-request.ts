import { decodeRendezvous } from '@switchboard/protocol';

// The only message the relay ever reads: the RequestRelay that opens each connection (hbbr
// src/relay_server.rs make_pair_). The controlling side sends {licence_key, id: the peer it wants,
// uuid, conn_type} (rustdesk src/client.rs create_relay); the controlled side sends only
// {licence_key, uuid} (src/server.rs create_relay_connection_).

/** RustDesk sends a 36-character UUID; anything longer is not a client of ours. */
export const MAX_UUID_LENGTH = 128;

export type RequestRefusal = 'not-request-relay' | 'licence-mismatch' | 'empty-uuid' | 'bad-uuid';

export interface RelayRequest {
  readonly uuid: string;
  /** The device the controlling side asked for; '' from the controlled side. */
  readonly peerId: string;
}

export type ParsedRequest =
  | { readonly ok: true; readonly request: RelayRequest }
  | { readonly ok: false; readonly refusal: RequestRefusal };

/**
 * Checks the first frame as hbbr does: it must be a RequestRelay, carry the licence key when one is
 * set (exact match), and name a non-empty uuid. Never throws.
 */
export function parseRelayRequest(frame: Buffer, licenceKey: string | undefined): ParsedRequest {
  const decoded = decodeRendezvous(frame);
  if (!decoded.ok || decoded.payload.$case !== 'requestRelay') {
    return { ok: false, refusal: 'not-request-relay' };
  }
  const { uuid, id, licenceKey: presented } = decoded.payload.value;
  if (licenceKey !== undefined && presented !== licenceKey) return { ok: false, refusal: 'licence-mismatch' };
  if (uuid === '') return { ok: false, refusal: 'empty-uuid' };
  if (uuid.length > MAX_UUID_LENGTH) return { ok: false, refusal: 'bad-uuid' };
  return { ok: true, request: { uuid, peerId: id } };
}
