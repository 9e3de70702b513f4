export {
  AuditIsolationError,
  AuditRepository,
  AuditRepositoryClosedError,
  InvalidAuditCursorError,
} from './audit.repository';
export type { AuditAppendInput, AuditListQuery, AuditPage, AuditRepositoryOptions } from './audit.repository';
export { AUDIT_CHAIN_LOCK_KEY } from './audit.sql';
export { GroupCommitQueue } from './group-commit-queue';
