export { DeviceSyncRepository } from './device-sync.repository';
export type {
  DeviceAssignee,
  DeviceSyncIdentity,
  DisconnectRequest,
  HeartbeatWrite,
  SysinfoWrite,
} from './device-sync.repository';
export { StrategyNameTakenError, StrategyRepository } from './strategy.repository';
export type {
  StrategyAssignmentRecord,
  StrategyOptions,
  StrategyRecord,
  StrategySnapshot,
  StrategyTarget,
  StrategyTargetKind,
} from './strategy.repository';
