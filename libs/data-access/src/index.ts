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
export {
  API_DATABASE_ROLE,
  RUNTIME_DATABASE_ROLES,
  SIGNAL_DATABASE_ROLE,
  setRuntimeRolePasswords,
  withDatabaseUser,
} from './migrations/runtime-roles';
export type { RuntimeRoleOutcome } from './migrations/runtime-roles';

// Users: accounts, roles and credentials.
export {
  USER_ROLES,
  UserAdminRepository,
  UserRepository,
  UsernameTakenError,
  escapeLikePattern,
} from './users';
export type {
  ManagedUser,
  NewManagedUser,
  NewUser,
  UserListQuery,
  UserPage,
  UserProfileChange,
  UserRecord,
  UserRole,
} from './users';

// API keys (`X-API-Key`): prefix + SHA-256 at rest, role, expiry, revocation, coarse last use.
export { ApiKeyPrefixTakenError, ApiKeyRepository } from './api-keys';
export type {
  ApiKeyCredential,
  ApiKeyListQuery,
  ApiKeyOwner,
  ApiKeyPage,
  ApiKeyRecord,
  NewApiKey,
} from './api-keys';

// Authentication: sessions (browser and RustDesk client), refresh tokens, TOTP state and recovery codes.
export {
  RecoveryCodeRepository,
  RefreshTokenRepository,
  SessionRepository,
  UserCredentialRepository,
} from './auth';
export type {
  NewRefreshToken,
  NewSession,
  RecoveryCodeLookup,
  RefreshTokenRecord,
  SessionClient,
  SessionKind,
  SessionRecord,
  StoredRecoveryCode,
  TotpState,
} from './auth';

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
  DEVICE_OS_FAMILIES,
  DEVICE_SORT_KEYS,
  DeviceDenyStateRepository,
  DeviceGroupNameTakenError,
  DeviceIdTakenError,
  DeviceRepository,
  escapeLike,
  RegistrationTokenRepository,
  uuidDigest,
} from './devices';
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
  StoredDeviceIdentity,
} from './devices';

// Dashboard: read-only counts for the operators' console.
export { DeviceStatsRepository } from './dashboard';
export type { DeviceCounts } from './dashboard';

// Settings: operator-managed knobs (JSON values under `[a-zA-Z0-9._-]{1,64}` keys).
export { SettingRepository } from './settings';
export type { SettingRecord } from './settings';

// Relay IP lists: hbbr's blocklist and blacklist as managed through the api, and the lock under
// which the relays' Redis copy is kept equal to them.
export {
  RELAY_IP_LISTS_LOCK_CLASS,
  RelayIpListRepository,
  RelayIpListStateRepository,
} from './relay-ip-lists';
export type { NewRelayIpListEntry, RelayIpListEntryRecord, RelayIpListName } from './relay-ip-lists';

// Groups: user groups, their members and access rules, device-group edits, and what a RustDesk
// client may see in its group tab (SQL-level scope and paging).
export {
  ClientAccessRepository,
  DeviceGroupRepository,
  UserGroupNameTakenError,
  UserGroupRepository,
} from './groups';
export type {
  ClientAccessScope,
  ClientVisiblePage,
  ClientVisiblePeer,
  ClientVisibleUser,
  Paged,
  UserGroupDetails,
  UserGroupListQuery,
  UserGroupMemberRecord,
  UserGroupRecord,
} from './groups';

// Device sync and strategies (client API §6): heartbeats, sysinfo, operator disconnects, strategies.
export { DeviceSyncRepository, StrategyNameTakenError, StrategyRepository } from './device-sync';
export type {
  DeviceAssignee,
  DeviceSyncIdentity,
  DisconnectRequest,
  HeartbeatWrite,
  StrategyAssignmentRecord,
  StrategyOptions,
  StrategyRecord,
  StrategySnapshot,
  StrategyTarget,
  StrategyTargetKind,
  SysinfoWrite,
} from './device-sync';

// Audit reported by RustDesk clients (/api/audit/*): connection rows, file and alarm records.
export { ClientAuditRepository } from './client-audit';
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
} from './client-audit';

// Address books of the RustDesk client API: personal and shared books, rules, peers, tags.
export {
  AddressBookPeerExistsError,
  AddressBookRepository,
  AddressBookTagExistsError,
} from './address-books';
export type {
  AccessibleSharedBook,
  AddressBookKind,
  AddressBookPeerFields,
  AddressBookPeerPage,
  AddressBookPeerRecord,
  AddressBookRecord,
  AddressBookRuleRecord,
  AddressBookTagRecord,
  AddressBookWithRule,
} from './address-books';

// The console's live event stream: who is online now, the audit chain's newest entries.
export { LiveFeedRepository } from './live-feed';
export type { AuditTailEntry } from './live-feed';
