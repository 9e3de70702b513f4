export { DeviceRepository } from './device.repository';
export type {
  ChangeIdOutcome,
  DeviceAccessRow,
  DeviceAccessSnapshotOptions,
  DeviceAccessSnapshotSummary,
  DeviceAdmission,
  DeviceRegistrationWrite,
  DeviceSeenWrite,
} from './device.repository';
export { REGISTRATION_POLICY_SETTING } from './device.sql';
export { uuidDigest } from './uuid-digest';
