import { type ClientVisiblePeer, type ClientVisibleUser } from '@switchboard/data-access';

// The group tab's JSON as the client parses it (docs/client-api.md §5): `UserPayload`,
// `PeerPayload` and `DeviceGroupPayload` in flutter/lib/common/hbbs/hbbs.dart. Every string field
// is a string or null (the Dart side reads `json[key] ?? ''`; any other type throws), `status` is
// an int and `is_admin` a boolean.

/** hbbs.dart `UserStatus`: 1 normal, 0 disabled, -1 unverified. Disabled users are never listed. */
const USER_STATUS_NORMAL = 1;
/** A listed peer is always usable (admitted, not banned, not deleted). */
const PEER_STATUS_ENABLED = 1;

export interface ClientUserPayload {
  name: string;
  display_name: string | null;
  email?: string | null;
  note?: string | null;
  status: number;
  is_admin: boolean;
}

export interface ClientPeerPayload {
  id: string;
  info: { device_name: string | null; os: string | null; username: string | null };
  status: number;
  /** The owner's user id; with `user_name` (their login name) it files the peer under that user. */
  user: string | null;
  user_name: string | null;
  device_group_name: string | null;
  note: string | null;
}

export interface ClientDeviceGroupPayload {
  name: string;
}

/**
 * `email` and `note` (an operator's note about the user) only to admins and about oneself: the tab
 * shows neither, and a colleague's address is not everyone's business.
 */
export function clientUserPayload(user: ClientVisibleUser, revealPrivate: boolean): ClientUserPayload {
  const payload: ClientUserPayload = {
    name: user.username,
    display_name: user.displayName,
    status: USER_STATUS_NORMAL,
    is_admin: user.role === 'admin',
  };
  if (revealPrivate) {
    payload.email = user.email;
    payload.note = user.note;
  }
  return payload;
}

/** `info.os` is the os string the device reported: the client derives the platform icon from it. */
export function clientPeerPayload(peer: ClientVisiblePeer): ClientPeerPayload {
  return {
    id: peer.rustdeskId,
    info: { device_name: peer.hostname, os: peer.os, username: peer.osUsername },
    status: PEER_STATUS_ENABLED,
    user: peer.owner?.id ?? null,
    user_name: peer.owner?.username ?? null,
    device_group_name: peer.groupName,
    note: peer.note,
  };
}
