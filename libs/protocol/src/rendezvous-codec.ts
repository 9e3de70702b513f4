import { BinaryWriter } from '@bufbuild/protobuf/wire';

import { Message } from './generated/message';
import { RendezvousMessage } from './generated/rendezvous';

// Every frame on hbbs's TCP/WS links and every UDP datagram is one bare RendezvousMessage
// (docs/protocol.md §1–§2); peers talk to each other in Message (hbb_common protos/message.proto).

/** The one variant a RendezvousMessage carries: `{ $case: 'registerPeer', value: RegisterPeer }` etc. */
export type RendezvousPayload = NonNullable<RendezvousMessage['union']>;
export type RendezvousCase = RendezvousPayload['$case'];
/** The payload of one case, e.g. `RendezvousOf<'punchHoleRequest'>`. */
export type RendezvousOf<C extends RendezvousCase> = Extract<RendezvousPayload, { $case: C }>;

export type PeerPayload = NonNullable<Message['union']>;

export type DecodeError =
  /** Not protobuf at all: truncated, a bad wire type or a varint that never ends. */
  | { readonly kind: 'malformed'; readonly detail: string }
  /** Well-formed, but carries none of the variants we know (including the empty message). */
  | { readonly kind: 'no-known-variant' };

export type DecodeResult<T> =
  { readonly ok: true; readonly payload: T } | { readonly ok: false; readonly error: DecodeError };

const NO_KNOWN_VARIANT: DecodeResult<never> = { ok: false, error: { kind: 'no-known-variant' } };

export function encodeRendezvous(payload: RendezvousPayload): Buffer {
  return toBuffer(RendezvousMessage.encode({ union: payload }, new BinaryWriter()).finish());
}

/** Never throws: whatever a peer sends ends up as a typed error (STYLE.md habit 5). */
export function decodeRendezvous(bytes: Uint8Array): DecodeResult<RendezvousPayload> {
  try {
    const { union } = RendezvousMessage.decode(bytes);
    return union === undefined ? NO_KNOWN_VARIANT : { ok: true, payload: union };
  } catch (error: unknown) {
    return malformed(error);
  }
}

export function encodePeerMessage(payload: PeerPayload): Buffer {
  return toBuffer(Message.encode({ union: payload }, new BinaryWriter()).finish());
}

/** Never throws, like decodeRendezvous. */
export function decodePeerMessage(bytes: Uint8Array): DecodeResult<PeerPayload> {
  try {
    const { union } = Message.decode(bytes);
    return union === undefined ? NO_KNOWN_VARIANT : { ok: true, payload: union };
  } catch (error: unknown) {
    return malformed(error);
  }
}

function malformed(error: unknown): DecodeResult<never> {
  // The protobuf reader throws on truncation ("premature EOF"), bad wire types and runaway varints.
  return {
    ok: false,
    error: { kind: 'malformed', detail: error instanceof Error ? error.message : String(error) },
  };
}

// No copy: the writer's output is ours alone.
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
