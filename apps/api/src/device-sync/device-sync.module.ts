import { Module } from '@nestjs/common';

import { AddressBooksModule } from '../address-books/address-books.module';
import { StrategiesModule } from '../strategies/strategies.module';
import { BearerApiKeyGuard } from './bearer-api-key.guard';
import { DeviceAssignments } from './device-assignments';
import { DeviceCliController } from './device-cli.controller';
import { DeviceCliService } from './device-cli.service';
import { DeviceDisconnectController } from './device-disconnect.controller';
import { DeviceDisconnectService } from './device-disconnect.service';
import { DeviceSyncController } from './device-sync.controller';
import { DeviceSyncService } from './device-sync.service';
import { HeartbeatRoute } from './heartbeat-route';
import { HeartbeatWriteBehind } from './heartbeat-write-behind';
import { PendingDisconnects } from './pending-disconnects';
import { SyncIdentities } from './sync-identities';

/**
 * Device sync (issue 12 item 5): sysinfo, heartbeat, operator disconnects and `rustdesk --assign`.
 * DeviceAssignments is exported for whoever else assigns devices (the address-book wiring).
 */
@Module({
  imports: [StrategiesModule, AddressBooksModule],
  controllers: [DeviceSyncController, DeviceCliController, DeviceDisconnectController],
  providers: [
    BearerApiKeyGuard,
    DeviceAssignments,
    DeviceCliService,
    DeviceDisconnectService,
    DeviceSyncService,
    HeartbeatRoute,
    HeartbeatWriteBehind,
    PendingDisconnects,
    SyncIdentities,
  ],
  exports: [DeviceAssignments],
})
export class DeviceSyncModule {}
