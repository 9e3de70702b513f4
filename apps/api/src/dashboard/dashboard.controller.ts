import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal } from '../auth/principal';
import { CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { Answers } from '../http/response-schemas';
import {
  type DashboardView,
  dashboardViewSchema,
  type RelayNodesView,
  relayNodesViewSchema,
  type ServerInfoView,
  serverInfoViewSchema,
} from './dashboard.dto';
import { DashboardService } from './dashboard.service';
import { RelayNodesService } from './relay-nodes.service';
import { ServerInfoService } from './server-info.service';

/** What the console's Dashboard and Settings pages show; read-only, nothing here changes state. */
@ApiTags('dashboard')
@Controller('api/v1')
export class DashboardController {
  constructor(
    private readonly dashboard: DashboardService,
    private readonly relays: RelayNodesService,
    private readonly serverInfo: ServerInfoService,
  ) {}

  @Get('dashboard')
  @ApiOperation({
    summary: 'Dashboard summary: devices, online over 24 h, refusals, relays, event health, audit',
    description:
      'Sections the caller may not see are absent: relays and events need setting.view, audit needs audit.view.',
  })
  @Answers(200, dashboardViewSchema)
  @RequirePermission('device.view')
  @Header('cache-control', 'no-store')
  summary(@CurrentPrincipal() principal: Principal): Promise<DashboardView> {
    return this.dashboard.summary(principal);
  }

  @Get('relays')
  @ApiOperation({ summary: 'Relay nodes announced right now (sessions, capacity, throughput, draining)' })
  @Answers(200, relayNodesViewSchema)
  @RequirePermission('setting.view')
  @Header('cache-control', 'no-store')
  listRelays(): Promise<RelayNodesView> {
    return this.relays.list();
  }

  @Get('server-info')
  @ApiOperation({
    summary: "The server's public key, ID/relay/API servers and the RustDesk client config string",
  })
  @Answers(200, serverInfoViewSchema)
  @RequirePermission('device.view')
  @Header('cache-control', 'no-store')
  getServerInfo(): Promise<ServerInfoView> {
    return this.serverInfo.get();
  }
}
