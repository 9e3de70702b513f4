export {
  AddressBookPeerExistsError,
  AddressBookRepository,
  AddressBookTagExistsError,
} from './address-book.repository';
export type {
  AccessibleSharedBook,
  AddressBookKind,
  AddressBookPeerFields,
  AddressBookPeerRecord,
  AddressBookRecord,
  AddressBookRuleRecord,
  AddressBookTagRecord,
} from './address-book.repository';
