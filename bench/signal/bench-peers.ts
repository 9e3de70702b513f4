import { encodeRendezvous } from '@switchboard/protocol';

// The benchmark's synthetic devices, derived from their index so that the coordinator and every
// load worker agree without passing lists around: peer i has RustDesk id 100000000 + i, a 36-byte
// uuid (a Windows MachineGuid's text, the commonest machine_uid) and a 32-byte pk.

/** Registrations per source address: hbbs answers TOO_FREQUENT past ~30 RegisterPk per IP a minute (docs/protocol.md §5.3); 20 leaves room for retries. */
export const PEERS_PER_ADDRESS = 20;

export function peerId(index: number): string {
  return String(100_000_000 + index);
}

/**
 * The address peer `index` registers from: 127.10.1.1 onwards, 20 peers each (Linux routes all of
 * 127/8 to loopback, so each is "another client" to the server's per-IP limits).
 */
export function registrationAddress(index: number): string {
  const address = Math.floor(index / PEERS_PER_ADDRESS);
  const block = Math.floor(address / 250);
  return `127.${10 + Math.floor(block / 250)}.${1 + (block % 250)}.${1 + (address % 250)}`;
}

/** RegisterPk{id, uuid, pk} of peer `index` (docs/protocol.md §5.3), as one datagram. */
export function registerPkDatagram(index: number): Buffer {
  const bytes = deterministicBytes(index, 34);
  const hex = bytes.subarray(0, 16).toString('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return encodeRendezvous({
    $case: 'registerPk',
    value: {
      id: peerId(index),
      uuid: Buffer.from(uuid.toUpperCase()),
      pk: deterministicBytes(index + 0x9e3779b9, 32),
      oldId: '',
      noRegisterDevice: false,
    },
  });
}

/** RegisterPeer{id} of peer `index`: the 13-byte heartbeat every UDP client sends each 15 s (§5.2). */
export function registerPeerDatagram(index: number): Buffer {
  return encodeRendezvous({ $case: 'registerPeer', value: { id: peerId(index), serial: 0 } });
}

function deterministicBytes(seed: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}
