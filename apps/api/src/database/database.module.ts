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

/** Repositories that need nothing but the Prisma client, one instance each for the whole api. */
const REPOSITORIES = [
  UserRepository,
  UserAdminRepository,
  ApiKeyRepository,
  SessionRepository,
  RefreshTokenRepository,
  RecoveryCodeRepository,
  UserCredentialRepository,
];

/** The Prisma client and the repositories built on it, for every feature module. */
@Global()
@Module({
  providers: [
    DatabaseConnection,
    ...REPOSITORIES.map((repository) => ({
      provide: repository,
      inject: [DatabaseConnection],
      useFactory: (database: DatabaseConnection) => new repository(database.client),
    })),
  ],
  exports: [DatabaseConnection, ...REPOSITORIES],
})
export class DatabaseModule {}
