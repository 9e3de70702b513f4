export { ClientAccessRepository } from './client-access.repository';
export type {
  ClientAccessScope,
  ClientVisiblePage,
  ClientVisiblePeer,
  ClientVisibleUser,
} from './client-access.repository';
export { DeviceGroupRepository } from './device-group.repository';
export { UserGroupNameTakenError, UserGroupRepository } from './user-group.repository';
export type {
  Paged,
  UserGroupDetails,
  UserGroupListQuery,
  UserGroupMemberRecord,
  UserGroupRecord,
} from './user-group.repository';
