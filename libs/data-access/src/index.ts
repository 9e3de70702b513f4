// Migrations: our runner for prisma/migrations, compatible with `prisma migrate deploy`.
export { applyMigrations, findHistoryProblems } from './migrations/migration-runner';
export type { ApplyMigrationsOptions, ApplyMigrationsResult } from './migrations/migration-runner';
export { MigrationError } from './migrations/migration-error';
export type { MigrationErrorCode } from './migrations/migration-error';
export {
  findMigrationsDir,
  migrationChecksum,
  readMigrationDirectory,
  scriptMatchesChecksum,
} from './migrations/migration-directory';
export type { MigrationFile } from './migrations/migration-directory';
export type { MigrationRecord } from './migrations/migration-history';
export {
  createDatabase,
  createScratchDatabase,
  databaseNameOf,
  dropDatabase,
  ensureDatabaseExists,
  redactUrl,
  withDatabaseName,
} from './migrations/database-admin';
export type { ScratchDatabase } from './migrations/database-admin';

// Users: accounts, roles and credentials.
export { USER_ROLES, UserRepository, UsernameTakenError } from './users';
export type { NewUser, UserRecord, UserRole } from './users';

// Prisma client factory (Prisma 7 + pg driver adapter).
export { createPrismaClient } from './prisma-client';
export type { PrismaClient, PrismaClientOptions, TransactionClient } from './prisma-client';

// Audit: the hash-chained, tamper-evident log (chaining rules live in @switchboard/audit).
export {
  AUDIT_CHAIN_LOCK_KEY,
  AuditIsolationError,
  AuditRepository,
  AuditRepositoryClosedError,
  GroupCommitQueue,
  InvalidAuditCursorError,
} from './audit';
export type { AuditAppendInput, AuditListQuery, AuditPage, AuditRepositoryOptions } from './audit';

// Devices as signal sees them: access snapshot for its admission index, batched write-behind.
export {
  DeviceAdminRepository,
  DeviceDenyStateRepository,
  DeviceGroupNameTakenError,
  DeviceIdTakenError,
  DeviceRepository,
  escapeLike,
  REGISTRATION_POLICY_SETTING,
  RegistrationTokenRepository,
  uuidDigest,
} from './devices';
export type {
  BanStamp,
  DeployAdmission,
  DeviceDetails,
  DeviceGroupRecord,
  DeviceListFilter,
  DevicePage,
  DevicePatch,
  DeviceSummary,
  LockedDevice,
  NewRegistrationToken,
  RegistrationTokenRecord,
  RegistrationTokenSecret,
  ChangeIdOutcome,
  DeviceAccessRow,
  DeviceAccessSnapshotOptions,
  DeviceAccessSnapshotSummary,
  DeviceAdmission,
  DeviceRegistrationWrite,
  DeviceSeenWrite,
} from './devices';
