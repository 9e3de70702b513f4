import { type AddressBookPeerRecord, type AddressBookRecord } from '@switchboard/data-access';

import { type AddressBookSecrets } from './address-book-secrets';

/**
 * A peer as the client parses it (flutter/lib/models/peer_model.dart `Peer.fromJson`): strings
 * never null, `forceAlwaysRelay` the string "true"/"false", `rdpPort` a string, `same_server` a
 * boolean or null. A wrong type fails the client's whole pull.
 */
export interface ClientPeerView {
  id: string;
  hash: string;
  password: string;
  username: string;
  hostname: string;
  platform: string;
  alias: string;
  tags: string[];
  note: string;
  forceAlwaysRelay: 'true' | 'false';
  rdpPort: string;
  rdpUsername: string;
  loginName: string;
  device_group_name: string;
  same_server: boolean | null;
}

export function clientPeerView(
  book: Pick<AddressBookRecord, 'id' | 'kind'>,
  peer: AddressBookPeerRecord,
  secrets: AddressBookSecrets,
): ClientPeerView {
  // A personal book remembers the password hash, a shared one the password itself.
  const personal = book.kind === 'personal';
  return {
    id: peer.rustdeskId,
    hash: personal ? secrets.openPeer(book.id, peer.rustdeskId, 'hash', peer.hashSealed) : '',
    password: personal ? '' : secrets.openPeer(book.id, peer.rustdeskId, 'password', peer.passwordSealed),
    username: peer.username ?? '',
    hostname: peer.hostname ?? '',
    platform: peer.platform ?? '',
    alias: peer.alias ?? '',
    tags: peer.tags,
    note: peer.note ?? '',
    forceAlwaysRelay: peer.forceAlwaysRelay ? 'true' : 'false',
    rdpPort: peer.rdpPort ?? '',
    rdpUsername: peer.rdpUsername ?? '',
    loginName: peer.loginName ?? '',
    device_group_name: peer.deviceGroupName ?? '',
    same_server: peer.sameServer,
  };
}

/** A shared book in `/api/ab/shared/profiles` (flutter/lib/common/hbbs/hbbs.dart `AbProfile`). */
export interface ClientProfileView {
  guid: string;
  name: string;
  owner: string;
  note: string;
  rule: number;
  /** `password`: the book's default shared password, used for peers without their own. */
  info: { password?: string };
}

/** A colour derived from a tag's name, opaque, for tags that arrive without one. */
export function defaultTagColor(name: string): number {
  let hash = 0;
  for (const char of name) hash = (Math.imul(hash, 31) + (char.codePointAt(0) ?? 0)) >>> 0;
  return (0xff00_0000 | (hash & 0x00ff_ffff)) >>> 0;
}
