export { SettingRepository } from './setting.repository';
export type { SettingRecord } from './setting.repository';
