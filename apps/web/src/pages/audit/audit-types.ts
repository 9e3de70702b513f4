import { type components } from '../../api/schema';

// The audit area's answer types, generated from the api's OpenAPI document.

type Schemas = components['schemas'];

export type AuditEntry = Schemas['AuditEntry'];
export type AuditPage = Schemas['AuditPage'];
export type AuditVerification = Schemas['AuditVerification'];
export type ConnectionRecord = Schemas['ConnectionAudit'];
export type ConnectionRecordPage = Schemas['ConnectionAuditPage'];
export type FileRecord = Schemas['FileAudit'];
export type FileRecordPage = Schemas['FileAuditPage'];
export type AlarmRecord = Schemas['AlarmAudit'];
export type AlarmRecordPage = Schemas['AlarmAuditPage'];
