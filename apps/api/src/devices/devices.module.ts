import { Module } from '@nestjs/common';

import { RegistrationTokensModule } from '../registration-tokens/registration-tokens.module';
import { DeviceDenySet } from './device-deny-set';
import { DeviceGroupsController } from './device-groups.controller';
import { DeviceGroupsService } from './device-groups.service';
import { DevicesController } from './devices.controller';
import { DevicesService } from './devices.service';

/**
 * Device administration: devices, groups, links, bans and revocation, the relays' deny set in Redis,
 * and (imported here so app.module stays one line per feature) registration tokens and deploy.
 */
@Module({
  imports: [RegistrationTokensModule],
  controllers: [DevicesController, DeviceGroupsController],
  providers: [DevicesService, DeviceGroupsService, DeviceDenySet],
  exports: [DeviceDenySet],
})
export class DevicesModule {}
