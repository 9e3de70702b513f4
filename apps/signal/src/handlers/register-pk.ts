import { type RegisterPk, RegisterPkResponse_Result } from '@switchboard/protocol';

import { bytesKey, type PeerRecord } from '../peer-map';
import { type RendezvousContext } from '../rendezvous-context';

// RegisterPk: a peer announcing its uuid and public key (RUSTDESK.md §5.3; rustdesk-server
// src/rendezvous_server.rs handle_udp). Over UDP it confirms the key; on a long-lived TCP/WS link it
// also registers the peer there (§5.11a, see register-link.ts).

/** Stored ids: digits by default, custom ids after a change (ARCHITECTURE.md "Input"). */
const STORABLE_ID = /^[A-Za-z0-9_-]{6,32}$/;

export interface RegisterPkSource {
  /** The IP the request came from (hbbs compares it with info.ip). */
  readonly ip: string;
  readonly port: number;
}

export type RegisterPkOutcome =
  /** Not answered at all: empty or oversized fields, an id we could never store. */
  | { readonly kind: 'ignored' }
  | { readonly kind: 'answered'; readonly result: RegisterPkResponse_Result; readonly peer?: PeerRecord };

const IGNORED: RegisterPkOutcome = { kind: 'ignored' };

/** hbbs's checks in hbbs's order, with the access policy answered by NOT_DEPLOYED (never UUID_MISMATCH). */
export function handleRegisterPk(
  context: RendezvousContext,
  message: RegisterPk,
  source: RegisterPkSource,
): RegisterPkOutcome {
  const { id, uuid, pk } = message;
  if (uuid.length === 0 || pk.length === 0) return IGNORED;
  if (uuid.length > context.limits.maxUuidBytes || pk.length > context.limits.maxPkBytes) {
    context.metrics.refusal('oversized-key');
    return IGNORED;
  }
  // Upstream's rule: the client then picks a new id, which is what a too-short id needs.
  if (id.length < 6) return answer(context, RegisterPkResponse_Result.UUID_MISMATCH, 'uuid-mismatch');
  if (!STORABLE_ID.test(id)) {
    context.metrics.refusal('invalid-id');
    return IGNORED;
  }
  const now = context.clock.now();
  if (!context.registerPkLimiter.allow(source.ip, id, now)) {
    return answer(context, RegisterPkResponse_Result.TOO_FREQUENT, 'too-frequent');
  }
  const access = context.access.checkRegistration(id, uuid);
  if (!access.allowed) {
    context.metrics.refusal(access.refusal);
    context.audit.record({
      action: 'device.registration_refused',
      deviceId: id,
      reason: access.refusal,
      ip: source.ip,
    });
    return { kind: 'answered', result: RegisterPkResponse_Result.NOT_DEPLOYED };
  }

  const uuidKey = bytesKey(uuid);
  const pkKey = bytesKey(pk);
  let peer = context.peers.get(id);
  if ((peer === undefined || peer.uuid === '') && context.access.isHeldByOtherUuid(id, uuid)) {
    // Not in memory (e.g. after a restart) but stored for another machine: hbbs loads the record from
    // its database and answers the same conflict.
    context.logger.warn({ id, ip: source.ip }, 'RegisterPk for an id stored with another uuid');
    return answer(context, RegisterPkResponse_Result.UUID_MISMATCH, 'uuid-mismatch');
  }
  if (peer !== undefined && peer.uuid !== '') {
    // A real conflict: another machine claims this id, or the same uuid turns up with both a new IP
    // and a new key. Only here does the client get UUID_MISMATCH (and pick a new id).
    if (peer.uuid !== uuidKey || (peer.ip !== source.ip && peer.pk !== pkKey)) {
      context.logger.warn({ id, ip: source.ip }, 'RegisterPk conflicts with the registered uuid/key');
      return answer(context, RegisterPkResponse_Result.UUID_MISMATCH, 'uuid-mismatch');
    }
  }
  if (peer !== undefined) {
    if (now - peer.regPkTime > context.limits.registerPkPerIdWindowMs) peer.regPkCount = 0;
    else if (peer.regPkCount >= context.limits.registerPkPerId) {
      return answer(context, RegisterPkResponse_Result.TOO_FREQUENT, 'too-frequent');
    }
  } else {
    peer = context.peers.create(id);
  }
  peer.regPkCount++;
  peer.regPkTime = now;

  if (peer.uuid !== uuidKey || peer.pk !== pkKey || peer.ip !== source.ip) {
    peer.uuid = uuidKey;
    peer.pk = pkKey;
    peer.ip = source.ip;
    peer.address = source.ip;
    peer.port = source.port;
    peer.lastRegTime = now;
    peer.seenRecordedAt = now;
    context.writer.recordRegistration({
      id,
      uuid: Buffer.from(uuid),
      pk: Buffer.from(pk),
      ip: source.ip,
      at: new Date(now),
    });
  }
  return { kind: 'answered', result: RegisterPkResponse_Result.OK, peer };
}

function answer(
  context: RendezvousContext,
  result: RegisterPkResponse_Result,
  reason: 'uuid-mismatch' | 'too-frequent',
): RegisterPkOutcome {
  context.metrics.refusal(reason);
  return { kind: 'answered', result };
}
