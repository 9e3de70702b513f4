import { Module } from '@nestjs/common';
import { LiveFeedRepository } from '@switchboard/data-access';

import { DashboardModule } from '../dashboard/dashboard.module';
import { DatabaseConnection } from '../database/database.connection';
import { LiveAdmissionService } from './live-admission';
import { LiveHub } from './live-hub';
import { LiveMetrics } from './live-metrics';
import { LiveOriginPolicy } from './live-origin-policy';
import { LiveUpgradeGateway } from './live-upgrade.gateway';
import { AuditTailWatcher } from './sources/audit-tail-watcher';
import { DeviceEventFeed } from './sources/device-event-feed';
import { PresenceWatcher } from './sources/presence-watcher';
import { RelayWatcher } from './sources/relay-watcher';

/**
 * The console's live event stream, GET /api/v1/live (docs/architecture.md "Console live events"): the
 * upgrade edge, admission, the hub of connections, and the sources that feed it while consoles are
 * connected (signed device events, presence, audit appends, relay nodes).
 */
@Module({
  imports: [DashboardModule],
  providers: [
    {
      provide: LiveFeedRepository,
      inject: [DatabaseConnection],
      useFactory: (database: DatabaseConnection) => new LiveFeedRepository(database.client),
    },
    LiveOriginPolicy,
    LiveAdmissionService,
    LiveMetrics,
    LiveHub,
    LiveUpgradeGateway,
    DeviceEventFeed,
    PresenceWatcher,
    AuditTailWatcher,
    RelayWatcher,
  ],
})
export class LiveEventsModule {}
