import { Global, Module } from '@nestjs/common';
import {
  ApiKeyRepository,
  RecoveryCodeRepository,
  RefreshTokenRepository,
  SessionRepository,
  UserAdminRepository,
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
    ...[
      UserAdminRepository,
      ApiKeyRepository,
      SessionRepository,
      RefreshTokenRepository,
      RecoveryCodeRepository,
      UserCredentialRepository,
    ].map((repository) => ({
      provide: repository,
      inject: [DatabaseConnection],
      useFactory: (database: DatabaseConnection) => new repository(database.client),
    })),
  ],
  exports: [
    DatabaseConnection,
    UserRepository,
    UserAdminRepository,
    ApiKeyRepository,
    SessionRepository,
    RefreshTokenRepository,
    RecoveryCodeRepository,
    UserCredentialRepository,
  ],
})
export class DatabaseModule {}
