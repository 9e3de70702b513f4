import { Module } from '@nestjs/common';

import { DashboardController } from './dashboard.controller';
import { DashboardService } from './dashboard.service';
import { OnlineSampler } from './online-sampler';
import { RelayNodesService } from './relay-nodes.service';
import { ServerInfoService } from './server-info.service';

/** GET /api/v1/dashboard, /api/v1/relays and /api/v1/server-info, and the online-count sampler. */
@Module({
  controllers: [DashboardController],
  providers: [DashboardService, OnlineSampler, RelayNodesService, ServerInfoService],
  // The live stream announces relay changes from the same trusted listing.
  exports: [RelayNodesService],
})
export class DashboardModule {}
