import { Module } from '@nestjs/common';

import { API_RANDOM } from '../app.tokens';
import { PasswordGenerator } from '../bootstrap/password-generator';
import { type RandomSource } from '../random/random-source';
import { RolesController } from './roles.controller';
import { UsersController } from './users.controller';
import { UserSessionsService } from './user-sessions.service';
import { UsersService } from './users.service';

/** Users administration (list, create, edit, disable, reset password, delete, their sessions) and the roles. */
@Module({
  controllers: [UsersController, RolesController],
  // The same one-time password shape as the first admin's (24 URL-safe characters, 144 bits).
  providers: [
    UsersService,
    UserSessionsService,
    {
      provide: PasswordGenerator,
      inject: [API_RANDOM],
      useFactory: (random: RandomSource) => new PasswordGenerator((size) => random.bytes(size)),
    },
  ],
})
export class UsersModule {}
