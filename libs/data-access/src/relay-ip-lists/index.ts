export {
  RELAY_IP_LISTS_LOCK_CLASS,
  RelayIpListRepository,
  RelayIpListStateRepository,
} from './relay-ip-list.repository';
export type {
  NewRelayIpListEntry,
  RelayIpListEntryRecord,
  RelayIpListName,
} from './relay-ip-list.repository';
