import { type RegisterPk, RegisterPkResponse_Result } from '@switchboard/protocol';

import { bytesKey } from '../peer-map';
import { type RendezvousContext } from '../rendezvous-context';

// The TCP RegisterPk that renames a device: `{old_id, id, uuid}` without pk (RUSTDESK.md §5.9; the
// client side is rustdesk src/ui_interface.rs check_id, which reads OK, ID_EXISTS, TOO_FREQUENT,
// NOT_SUPPORT, SERVER_ERROR and INVALID_ID_FORMAT). Upstream OSS answers NOT_SUPPORT to all of them.

/** hbb_common is_valid_custom_id. */
const CUSTOM_ID = /^[a-zA-Z][\w-]{5,15}$/;

export function handleChangeId(
  context: RendezvousContext,
  message: RegisterPk,
  ip: string,
): RegisterPkResponse_Result {
  const { oldId, id: newId, uuid } = message;
  if (!CUSTOM_ID.test(newId)) {
    context.metrics.refusal('invalid-id');
    return RegisterPkResponse_Result.INVALID_ID_FORMAT;
  }
  const now = context.clock.now();
  if (!context.idChangeLimiter.allow(ip, 1, now)) {
    context.metrics.refusal('too-frequent');
    return RegisterPkResponse_Result.TOO_FREQUENT;
  }
  // Only the machine that registered old_id may rename it: its uuid is the proof (the client sends
  // the same machine uid it registers with). Anything else is a conflict, as its name says.
  const peer = context.peers.get(oldId);
  if (peer === undefined || peer.uuid === '' || peer.uuid !== bytesKey(uuid)) {
    context.metrics.refusal('uuid-mismatch');
    return RegisterPkResponse_Result.UUID_MISMATCH;
  }
  // A banned or deleted device must not shed its ban by renaming itself.
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
  context.logger.info({ oldId, newId, ip }, 'device changed its id');
  return RegisterPkResponse_Result.OK;
}
