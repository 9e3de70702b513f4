import { CUSTOM_ID_PATTERN } from '@switchboard/domain';
import { type RegisterPk, RegisterPkResponse_Result } from '@switchboard/protocol';

import { type SignalConnection } from '../connection';
import { bytesKey, type PeerRecord } from '../peer-map';
import { type RendezvousContext } from '../rendezvous-context';

// The TCP RegisterPk that renames a device: `{old_id, id, uuid}` without pk (docs/protocol.md §5.9; the
// client side is rustdesk src/ui_interface.rs check_id, which reads OK, ID_EXISTS, TOO_FREQUENT,
// NOT_SUPPORT, SERVER_ERROR and INVALID_ID_FORMAT, anything else as an unknown error). Upstream OSS
// answers NOT_SUPPORT to all of them.

export function handleChangeId(
  context: RendezvousContext,
  connection: SignalConnection,
  message: RegisterPk,
): RegisterPkResponse_Result {
  const { oldId, id: newId, uuid } = message;
  const ip = connection.remote.address;
  // hbb_common is_valid_custom_id.
  if (!CUSTOM_ID_PATTERN.test(newId)) {
    context.metrics.refusal('invalid-id');
    return RegisterPkResponse_Result.INVALID_ID_FORMAT;
  }
  const now = context.clock.now();
  if (!context.idChangeLimiter.allow(connection.rateKey, 1, now)) {
    context.metrics.refusal('too-frequent');
    return RegisterPkResponse_Result.TOO_FREQUENT;
  }
  // The uuid travels in clear and is no secret, so it is not proof enough: the request must also come
  // from the registered machine (see isOwnConnection). Anything else is a conflict, as its name says;
  // check_id shows it as an unknown error and keeps the old id.
  const peer = context.peers.get(oldId);
  if (
    peer === undefined ||
    peer.uuid === '' ||
    peer.uuid !== bytesKey(uuid) ||
    !isOwnConnection(context, peer, connection, now)
  ) {
    context.metrics.refusal('uuid-mismatch');
    context.logger.warn({ oldId, newId, ip }, 'id change refused: not the registered device');
    return RegisterPkResponse_Result.UUID_MISMATCH;
  }
  // A banned, revoked or deleted device must not shed its ban by renaming itself.
  const access = context.access.checkRegistration(oldId, uuid);
  if (!access.allowed) {
    context.metrics.refusal(access.refusal);
    return RegisterPkResponse_Result.NOT_DEPLOYED;
  }
  // A taken id: live here, or known to Postgres (an offline device, or one banned or deleted, whose
  // id stays reserved).
  if (context.peers.has(newId) || context.access.isKnownDevice(newId)) {
    context.metrics.refusal('id-exists');
    return RegisterPkResponse_Result.ID_EXISTS;
  }
  context.peers.rename(oldId, newId);
  context.writer.recordIdChange(oldId, newId, new Date(now));
  context.audit.record({ action: 'device.id_changed', deviceId: oldId, newId, ip });
  context.logger.info({ oldId, newId, ip }, 'device changed its id');
  return RegisterPkResponse_Result.OK;
}

/**
 * Whether `connection` speaks for `peer`: it is the peer's own registration link, or it comes from
 * the address the peer is registered from right now. The client sends the change on a fresh,
 * unsecured TCP connection (check_id calls no secure_tcp), so the secure channel cannot be required;
 * it would not prove anything either, since it authenticates the server only. A TCP source address
 * cannot be spoofed, and the registration keeps it current.
 */
function isOwnConnection(
  context: RendezvousContext,
  peer: PeerRecord,
  connection: SignalConnection,
  now: number,
): boolean {
  if (connection.registeredPeer === peer) return true;
  return context.peers.isOnline(peer, now) && peer.address === connection.remote.address;
}
