import { Module } from '@nestjs/common';

import { DeployController } from './deploy.controller';
import { DeployThrottle } from './deploy-throttle';
import { DeployService } from './deploy.service';
import { RegistrationTokensController } from './registration-tokens.controller';
import { RegistrationTokensService } from './registration-tokens.service';

/** Registration tokens (operator API) and the client's `POST /api/devices/deploy` that spends them. */
@Module({
  controllers: [RegistrationTokensController, DeployController],
  providers: [RegistrationTokensService, DeployService, DeployThrottle],
})
export class RegistrationTokensModule {}
