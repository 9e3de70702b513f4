import { Module } from '@nestjs/common';

import { PasswordGenerator } from '../bootstrap/password-generator';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

/** Users administration (list, create, edit, disable, reset password, delete). */
@Module({
  controllers: [UsersController],
  // The same one-time password shape as the first admin's (24 URL-safe characters, 144 bits).
  providers: [UsersService, { provide: PasswordGenerator, useValue: new PasswordGenerator() }],
})
export class UsersModule {}
