import { signDetached, verifyDetached } from '@switchboard/crypto';
import { isDeviceId, isRelayUuid } from '@switchboard/domain';

import { isRelayAddress } from './registry-layout';

// The wire form of a relay ticket in Redis, signed by signal's Ed25519 identity key (the key whose
// public half every relay already holds as its licence key). A MAC would have to be shared with the
// relays, so any one relay could mint tickets for all of them; a signature only signal can make.

/** Domain separation: this key also signs peer keys and the secure-TCP box key, never this prefix. */
const SIGNING_CONTEXT = 'switchboard relay ticket v1\n';

/** What signal vouches for when B answers A's request (docs/architecture.md "Relay tickets and strict mode"). */
export interface RelayTicketClaims {
  readonly uuid: string;
  /** The device A asked for. */
  readonly peers: readonly string[];
  /** host[:port] both ends were told to dial. */
  readonly relay: string;
  /** A's source address, as signal saw its request. */
  readonly requesterIp: string;
  /** B's source address, as signal saw its answer. */
  readonly answererIp: string;
  /** Wall-clock ms: a signed ticket put back into Redis later is still refused. */
  readonly expiresAt: number;
}

export type TicketDecodeFailure = 'malformed' | 'forged' | 'expired';

export function encodeRelayTicket(claims: RelayTicketClaims, secretKey: Uint8Array): string {
  const body = JSON.stringify(claims);
  const signature = signDetached(Buffer.from(SIGNING_CONTEXT + body), secretKey);
  return `${signature.toString('base64')}.${body}`;
}

/**
 * The claims of a stored ticket if signal signed them for this uuid and they have not expired.
 * `skewMs` tolerates a relay clock behind or ahead of signal's.
 */
export function decodeRelayTicket(
  value: string,
  uuid: string,
  publicKey: Uint8Array,
  now: number,
  skewMs: number,
): RelayTicketClaims | TicketDecodeFailure {
  const dot = value.indexOf('.');
  if (dot <= 0) return 'malformed';
  const signature = Buffer.from(value.slice(0, dot), 'base64');
  const body = value.slice(dot + 1);
  if (!verifyDetached(Buffer.from(SIGNING_CONTEXT + body), signature, publicKey)) return 'forged';
  const claims = parseClaims(body);
  // Signed but not for this key: a genuine ticket copied under another uuid.
  if (claims === undefined || claims.uuid !== uuid) return 'forged';
  if (claims.expiresAt + skewMs < now) return 'expired';
  return claims;
}

function parseClaims(body: string): RelayTicketClaims | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const claims = parsed as Record<string, unknown>;
  const { uuid, peers, relay, requesterIp, answererIp, expiresAt } = claims;
  if (
    typeof uuid !== 'string' ||
    !isRelayUuid(uuid) ||
    !Array.isArray(peers) ||
    !peers.every((peer) => typeof peer === 'string' && isDeviceId(peer)) ||
    typeof relay !== 'string' ||
    typeof requesterIp !== 'string' ||
    typeof answererIp !== 'string' ||
    typeof expiresAt !== 'number'
  ) {
    return undefined;
  }
  return { uuid, peers: peers as string[], relay, requesterIp, answererIp, expiresAt };
}

/** RustDesk clients dial `host` as `host:21117` (rustdesk src/client.rs create_relay, check_port). */
const RELAY_PORT = 21117;

/**
 * One spelling per relay address, so the address in a ticket and a node's RELAY_PUBLIC_ADDR compare
 * equal however the port and case were written. '' for anything that is not a relay address.
 */
export function relayAddressKey(address: string): string {
  if (!isRelayAddress(address)) return '';
  // isRelayAddress admits `host`, `host:port`, `[v6]` and `[v6]:port`: the port follows the last ':' after any ']'.
  const colon = address.lastIndexOf(':');
  const hasPort = colon > address.lastIndexOf(']');
  const host = hasPort ? address.slice(0, colon) : address;
  const port = hasPort ? Number(address.slice(colon + 1)) : RELAY_PORT;
  return `${host.toLowerCase()}:${port}`;
}
