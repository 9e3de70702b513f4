import { Global, Module } from '@nestjs/common';
import { ApiKeyRepository, UserAdminRepository, UserRepository } from '@switchboard/data-access';

import { DatabaseConnection } from './database.connection';

/** The Prisma client and the repositories built on it, for every feature module. */
@Global()
@Module({
  providers: [
    DatabaseConnection,
    {
      provide: UserRepository,
      inject: [DatabaseConnection],
      useFactory: (database: DatabaseConnection) => new UserRepository(database.client),
    },
    {
      provide: UserAdminRepository,
      inject: [DatabaseConnection],
      useFactory: (database: DatabaseConnection) => new UserAdminRepository(database.client),
    },
    {
      provide: ApiKeyRepository,
      inject: [DatabaseConnection],
      useFactory: (database: DatabaseConnection) => new ApiKeyRepository(database.client),
    },
  ],
  exports: [DatabaseConnection, UserRepository, UserAdminRepository, ApiKeyRepository],
})
export class DatabaseModule {}
