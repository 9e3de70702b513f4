import { Module } from '@nestjs/common';

import { AuthenticationModule } from '../auth/authentication.module';
import { ClientLoginController } from './client-login.controller';
import { ClientLoginService } from './client-login.service';
import { LoginOptionsController } from './login-options.controller';

/** The RustDesk client's account endpoints (docs/client-api.md §2). */
@Module({
  imports: [AuthenticationModule],
  controllers: [LoginOptionsController, ClientLoginController],
  providers: [ClientLoginService],
})
export class ClientAccountModule {}
