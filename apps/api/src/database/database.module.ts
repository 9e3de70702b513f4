import { Global, Module } from '@nestjs/common';
import { UserRepository } from '@switchboard/data-access';

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
  ],
  exports: [DatabaseConnection, UserRepository],
})
export class DatabaseModule {}
