export { DeviceStatsRepository } from './device-stats.repository';
export type { DeviceCounts } from './device-stats.repository';
