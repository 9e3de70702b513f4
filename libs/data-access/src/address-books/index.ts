export {
  AddressBookPeerExistsError,
  AddressBookRepository,
  AddressBookTagExistsError,
} from './address-book.repository';
export type {
  AccessibleSharedBook,
  AddressBookKind,
  AddressBookPeerFields,
  AddressBookPeerPage,
  AddressBookPeerRecord,
  AddressBookRecord,
  AddressBookRuleRecord,
  AddressBookTagRecord,
  AddressBookWithRule,
} from './address-book.repository';
