export { ClientAuditRepository } from './client-audit.repository';
export type {
  AlarmAuditRecord,
  AlarmRecordRow,
  ClientAuditFilter,
  ClientAuditPage,
  ConnectionAuditRecord,
  ConnectionRecordRow,
  FileAuditRecord,
  FileRecordRow,
  ReportingDevice,
} from './client-audit.repository';
