import { Global, Module } from '@nestjs/common';
import {
  RecoveryCodeRepository,
  RefreshTokenRepository,
  SessionRepository,
  UserCredentialRepository,
  UserRepository,
} from '@switchboard/data-access';

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
    ...[SessionRepository, RefreshTokenRepository, RecoveryCodeRepository, UserCredentialRepository].map(
      (repository) => ({
        provide: repository,
        inject: [DatabaseConnection],
        useFactory: (database: DatabaseConnection) => new repository(database.client),
      }),
    ),
  ],
  exports: [
    DatabaseConnection,
    UserRepository,
    SessionRepository,
    RefreshTokenRepository,
    RecoveryCodeRepository,
    UserCredentialRepository,
  ],
})
export class DatabaseModule {}
