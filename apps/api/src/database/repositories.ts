import {
  AddressBookRepository,
  ApiKeyRepository,
  DeviceAdminRepository,
  DeviceStatsRepository,
  DeviceSyncRepository,
  type PrismaClient,
  RecoveryCodeRepository,
  RefreshTokenRepository,
  RegistrationTokenRepository,
  RelayIpListRepository,
  SessionRepository,
  SettingRepository,
  StrategyRepository,
  type TransactionClient,
  UserAdminRepository,
  UserCredentialRepository,
  UserRepository,
} from '@switchboard/data-access';
import { ClientAccessRepository, DeviceGroupRepository, UserGroupRepository } from '@switchboard/data-access';

/**
 * A repository as services depend on it: its public methods only, so a unit test can hand a service
 * an in-memory fake (apps/api/test/fake-repositories.ts) while the real class stays the Nest token.
 */
export type RepositoryInterface<R> = Pick<R, keyof R>;

/**
 * The repositories the api's services use, all bound to one database handle: the pool (one instance
 * each, injected by class, database.module.ts) or one transaction (handed to ChangeRunner.run's
 * work). This file and libs/data-access are the only places that see a Prisma client or transaction.
 */
export interface Repositories {
  readonly users: RepositoryInterface<UserRepository>;
  readonly userAdmin: RepositoryInterface<UserAdminRepository>;
  readonly credentials: RepositoryInterface<UserCredentialRepository>;
  readonly recoveryCodes: RepositoryInterface<RecoveryCodeRepository>;
  readonly sessions: RepositoryInterface<SessionRepository>;
  readonly refreshTokens: RepositoryInterface<RefreshTokenRepository>;
  readonly apiKeys: RepositoryInterface<ApiKeyRepository>;
  readonly devices: RepositoryInterface<DeviceAdminRepository>;
  readonly registrationTokens: RepositoryInterface<RegistrationTokenRepository>;
  readonly relayIpLists: RepositoryInterface<RelayIpListRepository>;
  readonly settings: RepositoryInterface<SettingRepository>;
  readonly userGroups: RepositoryInterface<UserGroupRepository>;
  readonly deviceGroups: RepositoryInterface<DeviceGroupRepository>;
  readonly clientAccess: RepositoryInterface<ClientAccessRepository>;
  readonly deviceSync: RepositoryInterface<DeviceSyncRepository>;
  readonly strategies: RepositoryInterface<StrategyRepository>;
  readonly addressBooks: RepositoryInterface<AddressBookRepository>;
  readonly deviceStats: RepositoryInterface<DeviceStatsRepository>;
}

/** The one place that builds the bundle. Construction is cheap: a repository only holds the handle. */
export function repositoriesOn(db: PrismaClient | TransactionClient): Repositories {
  return {
    users: new UserRepository(db),
    userAdmin: new UserAdminRepository(db),
    credentials: new UserCredentialRepository(db),
    recoveryCodes: new RecoveryCodeRepository(db),
    sessions: new SessionRepository(db),
    refreshTokens: new RefreshTokenRepository(db),
    apiKeys: new ApiKeyRepository(db),
    devices: new DeviceAdminRepository(db),
    registrationTokens: new RegistrationTokenRepository(db),
    relayIpLists: new RelayIpListRepository(db),
    settings: new SettingRepository(db),
    userGroups: new UserGroupRepository(db),
    deviceGroups: new DeviceGroupRepository(db),
    clientAccess: new ClientAccessRepository(db),
    deviceSync: new DeviceSyncRepository(db),
    strategies: new StrategyRepository(db),
    addressBooks: new AddressBookRepository(db),
    deviceStats: new DeviceStatsRepository(db),
  };
}

/** Class (the Nest token) → its place in the bundle, for database.module.ts. */
export const REPOSITORY_CLASSES = {
  users: UserRepository,
  userAdmin: UserAdminRepository,
  credentials: UserCredentialRepository,
  recoveryCodes: RecoveryCodeRepository,
  sessions: SessionRepository,
  refreshTokens: RefreshTokenRepository,
  apiKeys: ApiKeyRepository,
  devices: DeviceAdminRepository,
  registrationTokens: RegistrationTokenRepository,
  relayIpLists: RelayIpListRepository,
  settings: SettingRepository,
  userGroups: UserGroupRepository,
  deviceGroups: DeviceGroupRepository,
  clientAccess: ClientAccessRepository,
  deviceSync: DeviceSyncRepository,
  strategies: StrategyRepository,
  addressBooks: AddressBookRepository,
  deviceStats: DeviceStatsRepository,
} as const satisfies { readonly [K in keyof Repositories]: abstract new (...args: never[]) => unknown };
