import { DEVICE_ID_PATTERN } from '@switchboard/domain';
import { encodeRendezvous, type RegisterPk, RegisterPkResponse_Result } from '@switchboard/protocol';

import { bytesKey, type PeerRecord } from '../peer-map';
import { type StoredIdentity } from '../ports';
import { type RendezvousContext, replyDatagram } from '../rendezvous-context';
import { auditRegistrationRefused, countRegistrationRefused } from './registration-refused';

// RegisterPk: a peer announcing its uuid and public key (docs/protocol.md §5.3; rustdesk-server
// src/rendezvous_server.rs handle_udp). Over UDP it confirms the key; on a long-lived TCP/WS link it
// also registers the peer there (§5.11a, see register-link.ts).

export interface RegisterPkSource {
  /** The IP the request came from (hbbs compares it with info.ip). */
  readonly ip: string;
  readonly port: number;
  /**
   * Over TCP/WS, whose handshake proved the address; a UDP source may be spoofed, so new devices
   * over UDP come in under a global rate only (limits.udpNewDevices).
   */
  readonly returnRoutable: boolean;
}

export type RegisterPkOutcome =
  /** Not answered at all: empty or oversized fields, an id we could never store. */
  | { readonly kind: 'ignored' }
  | { readonly kind: 'answered'; readonly result: RegisterPkResponse_Result; readonly peer?: PeerRecord };

const IGNORED: RegisterPkOutcome = { kind: 'ignored' };

/**
 * hbbs's checks in hbbs's order, with the access policy answered by NOT_DEPLOYED (never UUID_MISMATCH).
 * Synchronous but for the first RegisterPk of a stored id that is not in memory (after a restart, or
 * an eviction): its stored uuid, key and IP are read first, as hbbs's peer map does from its database,
 * so the same rule applies as if the peer had never left memory.
 */
export function handleRegisterPk(
  context: RendezvousContext,
  message: RegisterPk,
  source: RegisterPkSource,
): RegisterPkOutcome | Promise<RegisterPkOutcome> {
  const { id, uuid, pk } = message;
  if (uuid.length === 0 || pk.length === 0) return IGNORED;
  if (uuid.length > context.limits.maxUuidBytes || pk.length > context.limits.maxPkBytes) {
    countRegistrationRefused(context, 'oversized-key');
    return IGNORED;
  }
  // Upstream's rule: the client then picks a new id, which is what a too-short id needs.
  if (id.length < 6) return answer(context, RegisterPkResponse_Result.UUID_MISMATCH, 'uuid-mismatch');
  // Stored ids: digits by default, custom ids after a change (docs/architecture.md "Input").
  if (!DEVICE_ID_PATTERN.test(id)) {
    countRegistrationRefused(context, 'invalid-id');
    return IGNORED;
  }
  if (!context.registerPkLimiter.allow(source.ip, id, context.clock.now())) {
    return answer(context, RegisterPkResponse_Result.TOO_FREQUENT, 'too-frequent');
  }
  const peer = context.peers.get(id);
  const stored =
    peer !== undefined && peer.uuid !== '' ? 'in-memory' : context.access.storedUuidMatch(id, uuid);
  // Before the access check: under `approval` that check records an unknown id as pending.
  if (stored === 'none' && !context.access.isKnownDevice(id) && !newDeviceAllowed(context, source)) {
    return answer(context, RegisterPkResponse_Result.TOO_FREQUENT, 'new-device-rate');
  }
  const refused = refuseByPolicy(context, id, uuid, source.ip);
  if (refused !== undefined) return refused;
  if (stored === 'different') {
    // Not in memory but stored for another machine: hbbs loads the record and answers the same.
    return conflict(context, id, source.ip, 'RegisterPk for an id stored with another uuid');
  }
  if (stored === 'maybe-same') return registerAfterReadingStored(context, message, source);
  return register(context, message, source, peer);
}

async function registerAfterReadingStored(
  context: RendezvousContext,
  message: RegisterPk,
  source: RegisterPkSource,
): Promise<RegisterPkOutcome> {
  const { id, uuid } = message;
  let stored: StoredIdentity | null;
  try {
    stored = await context.access.readStoredIdentity(id);
  } catch (error) {
    // Fail closed: a key registered now would be signed for this id. The client retries shortly.
    context.logger.debug({ err: error, id }, 'stored identity unreadable; RegisterPk refused for now');
    return answer(context, RegisterPkResponse_Result.TOO_FREQUENT, 'identity-unavailable');
  }
  // Decided again: a ban, or another RegisterPk of this id, may have come in meanwhile.
  const refused = refuseByPolicy(context, id, uuid, source.ip);
  if (refused !== undefined) return refused;
  let peer = context.peers.get(id);
  if (peer === undefined && stored === null && context.access.isKnownDevice(id)) {
    // Registered here but not written yet (the write-behind), and no longer in memory: its owner is
    // known to Postgres in a moment, not now.
    return answer(context, RegisterPkResponse_Result.TOO_FREQUENT, 'identity-unavailable');
  }
  if (peer === undefined && stored !== null) {
    peer = context.peers.create(id, context.clock.now());
    if (peer === undefined) return answer(context, RegisterPkResponse_Result.TOO_FREQUENT, 'peer-map-full');
    // As hbbs's record loaded from its database: known, offline until this registration succeeds.
    peer.uuid = bytesKey(stored.uuid);
    peer.pk = stored.pk === null ? '' : bytesKey(stored.pk);
    peer.ip = stored.ip ?? '';
  } else if (peer === undefined && !newDeviceAllowed(context, source)) {
    return answer(context, RegisterPkResponse_Result.TOO_FREQUENT, 'new-device-rate');
  }
  return register(context, message, source, peer);
}

/** The in-memory rule (hbbs handle_udp RegisterPk), then the record is created or updated. */
function register(
  context: RendezvousContext,
  message: RegisterPk,
  source: RegisterPkSource,
  known: PeerRecord | undefined,
): RegisterPkOutcome {
  const { id, uuid, pk } = message;
  const uuidKey = bytesKey(uuid);
  const pkKey = bytesKey(pk);
  const now = context.clock.now();
  let peer = known;
  if (peer !== undefined && peer.uuid !== '') {
    // A real conflict: another machine claims this id, or the same uuid turns up with both a new IP
    // and a new key. Only here does the client get UUID_MISMATCH (and pick a new id). A record that
    // never had a key (pending, or admitted by token) takes the first one.
    const keyChanged = peer.pk !== '' && peer.pk !== pkKey;
    if (peer.uuid !== uuidKey || (keyChanged && peer.ip !== source.ip)) {
      return conflict(context, id, source.ip, 'RegisterPk conflicts with the registered uuid/key');
    }
    if (keyChanged && !context.access.allowsKeyChange(id)) {
      // Could be the device itself after a reinstall: NOT_DEPLOYED, so it keeps its id and an admin decides.
      context.logger.warn({ id, ip: source.ip }, 'RegisterPk with a new key for an admitted device refused');
      auditRegistrationRefused(context, id, 'key-changed', source.ip);
      return answer(context, RegisterPkResponse_Result.NOT_DEPLOYED, 'key-changed');
    }
  }
  if (peer !== undefined) {
    if (now - peer.regPkTime > context.limits.registerPkPerIdWindowMs) peer.regPkCount = 0;
    else if (peer.regPkCount >= context.limits.registerPkPerId) {
      return answer(context, RegisterPkResponse_Result.TOO_FREQUENT, 'too-frequent');
    }
  } else {
    peer = context.peers.create(id, now);
    if (peer === undefined) return answer(context, RegisterPkResponse_Result.TOO_FREQUENT, 'peer-map-full');
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

/** The access policy's refusal, audited, or undefined when the id may register. */
function refuseByPolicy(
  context: RendezvousContext,
  id: string,
  uuid: Uint8Array,
  ip: string,
): RegisterPkOutcome | undefined {
  const access = context.access.checkRegistration(id, uuid);
  if (access.allowed) return undefined;
  countRegistrationRefused(context, access.refusal);
  auditRegistrationRefused(context, id, access.refusal, ip);
  return { kind: 'answered', result: RegisterPkResponse_Result.NOT_DEPLOYED };
}

/** RegisterPk over UDP: checked as anywhere else, answered to the datagram's source. */
export function registerPkOverUdp(
  context: RendezvousContext,
  message: RegisterPk,
  datagram: Buffer,
  address: string,
  port: number,
): void {
  const outcome = handleRegisterPk(context, message, { ip: address, port, returnRoutable: false });
  if (outcome instanceof Promise) {
    void outcome.then((settled) => answerOverUdp(context, datagram, settled, address, port));
  } else {
    answerOverUdp(context, datagram, outcome, address, port);
  }
}

function answerOverUdp(
  context: RendezvousContext,
  datagram: Buffer,
  outcome: RegisterPkOutcome,
  address: string,
  port: number,
): void {
  if (outcome.kind !== 'answered') return;
  // No keep_alive over UDP, as upstream.
  const reply = encodeRendezvous({
    $case: 'registerPkResponse',
    value: { result: outcome.result, keepAlive: 0 },
  });
  replyDatagram(context, datagram, reply, address, port);
}

/** A device never seen: over UDP, only within the global rate (its source address may be forged). */
function newDeviceAllowed(context: RendezvousContext, source: RegisterPkSource): boolean {
  return source.returnRoutable || context.udpNewDeviceLimiter.allow('', 1, context.clock.now());
}

function conflict(context: RendezvousContext, id: string, ip: string, why: string): RegisterPkOutcome {
  context.logger.warn({ id, ip }, why);
  return answer(context, RegisterPkResponse_Result.UUID_MISMATCH, 'uuid-mismatch');
}

function answer(
  context: RendezvousContext,
  result: RegisterPkResponse_Result,
  reason:
    | 'uuid-mismatch'
    | 'too-frequent'
    | 'key-changed'
    | 'identity-unavailable'
    | 'peer-map-full'
    | 'new-device-rate',
): RegisterPkOutcome {
  countRegistrationRefused(context, reason);
  return { kind: 'answered', result };
}
