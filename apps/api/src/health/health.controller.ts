import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { type FastifyReply } from 'fastify';

import { Public } from '../auth/route-access';
import { HealthService, type ReadinessReport } from './health.service';

/** What the operator port says about readiness: the per-dependency detail is on the ops port only. */
export type PublicReadiness = Pick<ReadinessReport, 'status'>;

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
  @ApiOperation({ summary: 'Readiness: Postgres and Redis both answer (detail on the ops port)' })
  @ApiOkResponse({ description: '`{ status: "ready" }`' })
  @ApiServiceUnavailableResponse({ description: '`{ status: "unavailable" }`' })
  async readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<PublicReadiness> {
    const { status } = await this.health.readiness();
    void reply.status(status === 'ready' ? 200 : 503);
    return { status };
  }
}
