import { Injectable } from '@nestjs/common';

import { SecretBox } from '../auth/secret-box';

/**
 * Seals the address books' secrets with the data key (apps/api/src/auth/secret-box.ts): a peer's
 * remembered password hash (personal books), a peer's password and the book-level password (shared
 * books). The associated data names the book, the peer and the field, so a sealed value copied onto
 * another row or field does not open.
 */
@Injectable()
export class AddressBookSecrets {
  constructor(private readonly box: SecretBox) {}

  sealPeer(bookId: string, peerId: string, field: 'hash' | 'password', value: string): Buffer | null {
    return value === '' ? null : this.box.seal(value, peerOwner(bookId, peerId, field));
  }

  openPeer(bookId: string, peerId: string, field: 'hash' | 'password', sealed: Buffer | null): string {
    return sealed === null ? '' : this.box.open(sealed, peerOwner(bookId, peerId, field));
  }

  sealBookPassword(bookId: string, value: string): Buffer | null {
    return value === '' ? null : this.box.seal(value, `address-book:${bookId}:password`);
  }

  openBookPassword(bookId: string, sealed: Buffer | null): string {
    return sealed === null ? '' : this.box.open(sealed, `address-book:${bookId}:password`);
  }
}

function peerOwner(bookId: string, peerId: string, field: string): string {
  return `address-book:${bookId}:peer:${peerId}:${field}`;
}
