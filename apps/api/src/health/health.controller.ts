import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { type FastifyReply } from 'fastify';

import { Public } from '../auth/route-access';
import { HealthService, type ReadinessReport } from './health.service';

/** Probes for orchestrators: liveness never touches a dependency; readiness checks them all. */
@Public()
@ApiTags('probes')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process is up (touches no dependency)' })
  @ApiOkResponse({ description: '`{ status: "ok" }`' })
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: Postgres and Redis both answer' })
  @ApiOkResponse({ description: '`{ status: "ready", checks }`, one entry per dependency' })
  @ApiServiceUnavailableResponse({ description: '`{ status: "unavailable", checks }` naming what is down' })
  async readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const report = await this.health.readiness();
    void reply.status(report.status === 'ready' ? 200 : 503);
    return report;
  }
}
