export { DeviceRepository } from './device.repository';
export type {
  ChangeIdOutcome,
  DeviceAccessRow,
  DeviceAccessSnapshotOptions,
  DeviceAccessSnapshotSummary,
  DeviceAdmission,
  DeviceRegistrationWrite,
  DeviceSeenWrite,
  StoredDeviceIdentity,
} from './device.repository';
export { uuidDigest } from './uuid-digest';
export {
  DEVICE_OS_FAMILIES,
  DEVICE_SORT_KEYS,
  DeviceAdminRepository,
  DeviceGroupNameTakenError,
  DeviceIdTakenError,
} from './device-admin.repository';
export type {
  BanStamp,
  DeployAdmission,
  DeviceDetails,
  DeviceGroupRecord,
  DeviceListFilter,
  DeviceListOrder,
  DeviceListPosition,
  DeviceOsFamily,
  DevicePage,
  DeviceSortKey,
  DevicePatch,
  DeviceSummary,
  LockedDevice,
} from './device-admin.repository';
export { escapeLike } from './device-admin.sql';
export { DeviceDenyStateRepository } from './device-deny-state.repository';
export { RegistrationTokenRepository } from './registration-token.repository';
export type {
  NewRegistrationToken,
  RegistrationTokenRecord,
  RegistrationTokenSecret,
} from './registration-token.repository';
