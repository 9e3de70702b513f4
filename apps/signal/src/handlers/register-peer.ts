import { encodeRendezvous } from '@switchboard/protocol';

import { type RendezvousContext, replyDatagram } from '../rendezvous-context';
import { auditRegistrationRefused, countRegistrationRefused } from './registration-refused';

// UDP RegisterPeer, the heartbeat every registered client sends each 15 s (docs/protocol.md §5.2;
// rustdesk-server src/rendezvous_server.rs update_addr). It is the hot path: at 1M peers about
// 67,000 a second. So it reads the datagram without the generic decoder, answers with one of two
// pre-encoded replies, and allocates nothing beyond the id string.

/** The two possible answers, encoded once. Both are smaller than any RegisterPeer with an id. */
export const REGISTER_PEER_RESPONSE = {
  ok: encodeRendezvous({ $case: 'registerPeerResponse', value: { requestPk: false } }),
  requestPk: encodeRendezvous({ $case: 'registerPeerResponse', value: { requestPk: true } }),
} as const;

export type RegisterPeerReply = keyof typeof REGISTER_PEER_RESPONSE | 'drop';

/** RendezvousMessage field 6 (register_peer), wire type 2. */
const REGISTER_PEER_TAG = (6 << 3) | 2;
const ID_TAG = (1 << 3) | 2;
const SERIAL_TAG = (2 << 3) | 0;

/**
 * The id of a datagram that is exactly `RendezvousMessage{register_peer{id, serial?}}`, or undefined
 * for anything else (which then goes through the generic decoder, so odd but valid encodings still
 * work). Protobuf rules kept: a repeated field's last value wins.
 */
export function readRegisterPeerId(datagram: Buffer): string | undefined {
  const reader = FAST_READER.reset();
  if (reader.byte(datagram) !== REGISTER_PEER_TAG) return undefined;
  const length = reader.varint(datagram);
  if (length < 0 || reader.position + length !== datagram.length) return undefined;
  let id = '';
  while (reader.position < datagram.length) {
    const tag = reader.byte(datagram);
    if (tag === ID_TAG) {
      const idLength = reader.varint(datagram);
      if (idLength < 0 || reader.position + idLength > datagram.length) return undefined;
      id = datagram.toString('utf8', reader.position, reader.position + idLength);
      reader.position += idLength;
    } else if (tag !== SERIAL_TAG || reader.varint(datagram) < 0) {
      return undefined;
    }
  }
  return id;
}

/**
 * A cursor over one datagram, reused for every datagram so the hot path allocates none. It holds only
 * the position (a small integer): storing the datagram itself in this long-lived object would cost a
 * write barrier per datagram and keep the last one alive.
 */
class FastReader {
  position = 0;

  reset(): this {
    this.position = 0;
    return this;
  }

  byte(bytes: Buffer): number {
    return bytes[this.position++] ?? -1;
  }

  /**
   * A varint of up to 10 bytes, as a number when it is below 2^28 (all a length here can be), 0 for
   * larger values (a serial may be a negative int32), -1 when truncated or overlong.
   */
  varint(bytes: Buffer): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = this.byte(bytes);
      if (byte < 0) return -1;
      if (shift < 28) value |= (byte & 0x7f) << shift;
      else if ((byte & 0x7f) !== 0) value = Number.NaN;
      if ((byte & 0x80) === 0) return Number.isNaN(value) ? 0 : value;
    }
    return -1;
  }
}

const FAST_READER = new FastReader();

/**
 * hbbs update_addr: a known peer whose IP did not change (loopback excepted) is refreshed and told
 * all is well; a new id, a peer without a key or one whose IP changed is asked for RegisterPk.
 * A device the access policy refuses gets no answer at all (docs/protocol.md §7).
 */
export function handleRegisterPeer(
  context: RendezvousContext,
  id: string,
  address: string,
  port: number,
): RegisterPeerReply {
  if (id === '') return 'drop';
  const access = context.access.checkRegistration(id);
  if (!access.allowed) {
    countRegistrationRefused(context, access.refusal);
    auditRegistrationRefused(context, id, access.refusal, address);
    return 'drop';
  }
  const peer = context.peers.get(id);
  if (peer === undefined) return 'requestPk';
  const ipChange = (peer.port !== 0 ? address !== peer.address : address !== peer.ip) && !isLoopback(address);
  if (peer.pk === '' || ipChange) return 'requestPk';
  const now = context.clock.now();
  // Almost every heartbeat repeats the stored address: keeping the old string (not the equal one
  // each datagram brings) leaves the long-lived record untouched and the new string young garbage.
  if (address !== peer.address) peer.address = address;
  if (port !== peer.port) peer.port = port;
  peer.lastRegTime = now;
  if (now - peer.seenRecordedAt >= context.limits.seenRecordIntervalMs) {
    peer.seenRecordedAt = now;
    context.writer.recordSeen(id, address, new Date(now));
  }
  return 'ok';
}

/** Answers the RegisterPeer `datagram` of `id`; a refused device gets nothing. */
export function answerRegisterPeer(
  context: RendezvousContext,
  datagram: Buffer,
  id: string,
  address: string,
  port: number,
): void {
  const reply = handleRegisterPeer(context, id, address, port);
  if (reply !== 'drop') replyDatagram(context, datagram, REGISTER_PEER_RESPONSE[reply], address, port);
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}
