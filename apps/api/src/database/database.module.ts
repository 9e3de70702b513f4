import { Global, Module, type Provider } from '@nestjs/common';
import {
  AuditRepository,
  DeviceDenyStateRepository,
  RelayIpListStateRepository,
} from '@switchboard/data-access';

import { DatabaseConnection } from './database.connection';
import { REPOSITORY_CLASSES } from './repositories';

/**
 * Each repository, bound to the pool, injected by its class. A change that must be one transaction
 * gets the same set bound to that transaction from ChangeRunner.run instead.
 */
const REPOSITORY_PROVIDERS: Provider[] = [
  ...Object.entries(REPOSITORY_CLASSES).map(([name, repository]) => ({
    provide: repository,
    inject: [DatabaseConnection],
    useFactory: (database: DatabaseConnection) =>
      database.repositories[name as keyof typeof REPOSITORY_CLASSES],
  })),
  {
    provide: AuditRepository,
    inject: [DatabaseConnection],
    useFactory: (db: DatabaseConnection) => db.audit,
  },
  {
    provide: DeviceDenyStateRepository,
    inject: [DatabaseConnection],
    useFactory: (db: DatabaseConnection) => db.denyStates,
  },
  {
    provide: RelayIpListStateRepository,
    inject: [DatabaseConnection],
    useFactory: (db: DatabaseConnection) => db.ipListStates,
  },
];

/** The Prisma client and the repositories built on it, for every feature module. */
@Global()
@Module({
  providers: [DatabaseConnection, ...REPOSITORY_PROVIDERS],
  exports: [
    DatabaseConnection,
    ...Object.values(REPOSITORY_CLASSES),
    AuditRepository,
    DeviceDenyStateRepository,
    RelayIpListStateRepository,
  ],
})
export class DatabaseModule {}
